using System.Reflection;
using System.Text.RegularExpressions;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

/// <summary>
/// The one table of configuration keys: the parser reads from it (a key read but not declared, or
/// read as another kind, throws), every declared key with a plain default parses silently, ignored
/// keys are warned about with their reason, suggestions come from it, and no ServerConfig property
/// is parsed without something outside Config reading it.
/// </summary>
public sealed class ConfigKeyTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServerConfig Parse(string text) => ServerConfig.Parse($"dataDir={_dir}\n" + text, "zoo.cfg", _dir);

    [Fact]
    public void EveryKeyIsDeclaredOnceWithWhatReadsIt()
    {
        var duplicates = ConfigKeyTable.All.GroupBy(k => k.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key);
        Assert.Empty(duplicates);
        Assert.All(ConfigKeyTable.All, key => Assert.False(string.IsNullOrWhiteSpace(key.ReadBy), key.Name));
        Assert.True(ConfigKeyTable.All.Count(k => k is not IgnoredKey) > 100);
    }

    public static TheoryData<string> KeysWithPlainDefaults()
    {
        var data = new TheoryData<string>();
        foreach (var key in ConfigKeyTable.All)
        {
            // Keys warned about whenever present are exercised by the warnings' own tests.
            if (key is IntKey or LongKey or DecimalKey or BoolKey or YesNoKey && key.DefaultText != "computed" && !key.ReadBy.StartsWith("warned about", StringComparison.Ordinal))
            {
                data.Add(key.Name);
            }
        }

        return data;
    }

    /// <summary>Each typed key written with its declared default parses with no warning about it, in both spellings Apache reads.</summary>
    [Theory]
    [MemberData(nameof(KeysWithPlainDefaults))]
    public void AKeyAtItsDeclaredDefaultParsesSilently(string name)
    {
        var key = ConfigKeyTable.Find(name)!;
        var config = Parse($"{name}={key.DefaultText}\n");
        Assert.DoesNotContain(config.Warnings, w => w.Key == name);
        if (key.SystemProperty)
        {
            config = Parse($"zookeeper.{name}={key.DefaultText}\n");
            Assert.DoesNotContain(config.Warnings, w => w.Key == "zookeeper." + name);
        }
        else
        {
            config = Parse($"zookeeper.{name}={key.DefaultText}\n");
            Assert.Contains(config.Warnings, w => w.Key == "zookeeper." + name && w.Message.Contains("unknown key", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AnIgnoredKeyIsWarnedAboutWithItsReason()
    {
        var config = Parse("nio.numWorkerThreads=8\njvm.pause.monitor=true\nzookeeper.kinit=/usr/bin/kinit\nssl.quorum.sslProvider=JDK\n");
        Assert.Equal(
            [
                ("nio.numWorkerThreads", "ignored: tunes a part of Apache ZooKeeper's Java implementation that SharpKeeper does not have"),
                ("jvm.pause.monitor", "ignored: there is no JVM to watch (mntr reports the runtime's GC pauses)"),
                ("zookeeper.kinit", "ignored: Kerberos is not supported (SASL DIGEST-MD5 is)"),
                ("ssl.quorum.sslProvider", "ignored: a TLS setting of Java's SSL engine SharpKeeper does not have"),
            ],
            config.Warnings.Select(w => (w.Key, w.Message)));
    }

    [Fact]
    public void AMisspeltKeyIsMatchedAgainstTheTable()
    {
        var config = Parse("tickTim=2000\nnio.numWorkerThread=8\nadmin.serverPrt=8081\n");
        Assert.Equal(
            [
                "unknown key; ignored (did you mean tickTime?)",
                "unknown key; ignored (did you mean nio.numWorkerThreads?)",
                "unknown key; ignored (did you mean admin.serverPort?)",
            ],
            config.Warnings.Select(w => w.Message));
    }

    [Fact]
    public void ADeclaredRangeIsEnforcedWithTheFileLineAndKey()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("tickTime=2000\nadmin.serverPort=70000\n"));
        Assert.Equal(("zoo.cfg", 3, "admin.serverPort"), (e.File, e.Line, e.Key));
        Assert.Contains("between 0 and 65535", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// No setting is parsed and never used: each public property ServerConfig declares appears in
    /// src/ somewhere other than its declaration and its assignments (a source scan).
    /// </summary>
    [Fact]
    public void EveryParsedSettingIsRead()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SharpKeeper.slnx")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var separator = Path.DirectorySeparatorChar;
        var sources = Directory.EnumerateFiles(Path.Combine(root.FullName, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToList();
        var unread = typeof(ServerConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.DeclaringType == typeof(ServerConfig))
            .Select(p => p.Name)
            .Where(name => !sources.Any(text => IsRead(text, name)))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Empty(unread);
    }

    /// <summary>An occurrence of the name that is neither its declaration ("Name { get") nor an assignment ("Name = ").</summary>
    private static bool IsRead(string text, string name) =>
        Regex.Matches(text, $@"\b{name}\b").Any(m => !Regex.IsMatch(text.AsSpan(m.Index + m.Length, Math.Min(12, text.Length - m.Index - m.Length)), @"^\s*(\{ get|=[^=>])"));
}
