namespace SharpKeeper.Integration.Tests.Infrastructure;

public static class RepoPaths
{
    /// <summary>The repository root (the folder holding SharpKeeper.slnx).</summary>
    public static string Root { get; } = FindRoot();

    public static string Compat => Path.Combine(Root, "tests", "compat");

    /// <summary>The built sharpkeeper command (copied next to the tests by the project reference).</summary>
    public static string SharpKeeperDll => Path.Combine(AppContext.BaseDirectory, "sharpkeeper.dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpKeeper.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SharpKeeper.slnx not found above " + AppContext.BaseDirectory);
    }
}
