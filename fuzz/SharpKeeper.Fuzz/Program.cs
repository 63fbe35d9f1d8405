using SharpFuzz;
using SharpKeeper.Fuzz;

// sharpkeeper-fuzz list                          the targets
// sharpkeeper-fuzz run TARGET                    one target under afl-fuzz (SharpFuzz's out-of-process runner)
// sharpkeeper-fuzz replay TARGET PATH...         inputs (files or folders) in this process; exit 1 on a crash
// sharpkeeper-fuzz seeds CORPUS                  writes the generated seeds
switch (args)
{
    case ["list"]:
        foreach (var target in Targets.All)
        {
            Console.WriteLine($"{target.Name,-24}{target.What}");
        }

        return 0;
    case ["run", var name] when Targets.Find(name) is { } target:
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target.Run(buffer.ToArray());
        });
        return 0;
    case ["replay", var name, .. var paths] when Targets.Find(name) is { } target:
        return Replay(target, paths);
    case ["seeds", var corpus]:
        Seeds.Write(corpus);
        return 0;
    default:
        Console.Error.WriteLine("usage: sharpkeeper-fuzz list | run TARGET | replay TARGET PATH... | seeds CORPUS");
        Console.Error.WriteLine("targets: " + string.Join(", ", Targets.All.Select(t => t.Name)));
        return 2;
}

static int Replay(FuzzTarget target, IEnumerable<string> paths)
{
    var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p, "*", SearchOption.AllDirectories) : [p]).Order().ToList();
    var crashes = 0;
    foreach (var file in files)
    {
        try
        {
            var accepted = target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"{(accepted ? "accepted" : "rejected")}  {file}");
        }
        catch (Exception e)
        {
            crashes++;
            Console.WriteLine($"CRASH     {file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.StackTrace);
        }
    }

    Console.WriteLine($"{target.Name}: {files.Count} inputs, {crashes} crashes");
    return crashes == 0 ? 0 : 1;
}
