using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

public sealed class PropertiesParserTests
{
    private static List<ConfigEntry> Parse(string text) => PropertiesParser.Parse(text, "zoo.cfg", []);

    private static (string Key, string Value, int Line)[] Triples(string text) =>
        Parse(text).Select(e => (e.Key, e.Value, e.Line)).ToArray();

    [Theory]
    [InlineData("a=b")]
    [InlineData("a = b")]
    [InlineData("a:b")]
    [InlineData("a : b")]
    [InlineData("a b")]
    [InlineData("a \t  b")]
    [InlineData("  a=b  ")]
    [InlineData("\ta\t=\tb\t")]
    [InlineData("a    :   b")]
    public void EverySeparatorJavaAcceptsWorks(string line) =>
        Assert.Equal([("a", "b", 1)], Triples(line));

    [Fact]
    public void OnlyTheFirstSeparatorSplits()
    {
        Assert.Equal([("server.1", "zk1:2888:3888;0.0.0.0:2181", 1)], Triples("server.1=zk1:2888:3888;0.0.0.0:2181"));
        Assert.Equal([("a", "= b", 1)], Triples("a = = b"));
        Assert.Equal([("a", "b c", 1)], Triples("a b c"));
    }

    [Fact]
    public void CommentsAndBlankLinesAreSkippedAndLinesCounted()
    {
        var entries = Triples("# comment\n! also a comment\n   # indented comment\n\n   \nkey=value\n\t\nother=1\n");
        Assert.Equal([("key", "value", 6), ("other", "1", 8)], entries);
    }

    [Fact]
    public void AHashInsideAValueIsNotAComment() =>
        Assert.Equal([("a", "b # not a comment", 1)], Triples("a=b # not a comment"));

    [Fact]
    public void KeyWithoutValueHasAnEmptyValue() =>
        Assert.Equal([("lonely", "", 1), ("also", "", 2)], Triples("lonely\nalso=\n"));

    [Fact]
    public void WindowsAndOldMacLineEndsWork() =>
        Assert.Equal([("a", "1", 1), ("b", "2", 2), ("c", "3", 3)], Triples("a=1\r\nb=2\rc=3"));

    [Fact]
    public void TrailingBackslashContinuesTheLineAndDropsTheNextLinesIndent()
    {
        var entries = Triples("4lw.commands.whitelist=stat, \\\n    ruok, \\\n\tconf\nnext=1\n");
        Assert.Equal([("4lw.commands.whitelist", "stat, ruok, conf", 1), ("next", "1", 4)], entries);
    }

    [Fact]
    public void AnEvenNumberOfBackslashesDoesNotContinue() =>
        Assert.Equal([("a", "x\\", 1), ("b", "y", 2)], Triples("a=x\\\\\nb=y"));

    [Fact]
    public void ACommentEndingInABackslashDoesNotSwallowTheNextLine() =>
        Assert.Equal([("a", "1", 2)], Triples("# comment \\\na=1"));

    [Fact]
    public void AContinuedLineStartingWithAHashIsNotAComment() =>
        Assert.Equal([("a", "1#2", 1)], Triples("a=1\\\n  #2"));

    [Fact]
    public void AHashAfterALoneContinuationIsPartOfTheKey() =>
        Assert.Equal([("#key", "v", 1)], Triples("\\\n#key=v"));

    [Fact]
    public void AnEmptyContinuationLineEndsTheEntry() =>
        Assert.Equal([("a", "1", 1), ("b", "2", 3)], Triples("a=1\\\n\nb=2"));

    [Fact]
    public void ABackslashAtTheEndOfTheTextIsDropped() =>
        Assert.Equal([("a", "1", 1)], Triples("a=1\\"));

    [Fact]
    public void EscapesAreDecoded()
    {
        Assert.Equal([("a:b", "c=d", 1)], Triples("a\\:b=c\\=d"));
        Assert.Equal([("key with space", "v", 1)], Triples("key\\ with\\ space=v"));
        Assert.Equal([("a", "A\u00e9", 1)], Triples("a=\\u0041\\u00E9"));
        Assert.Equal([("a", "x\\y", 1)], Triples("a=x\\\\y"));
        Assert.Equal([("tab", "1\t2", 1)], Triples("tab=1\\t2"));
    }

    [Fact]
    public void AStrayBackslashIsDroppedWithAWarning()
    {
        var warnings = new List<ConfigWarning>();
        var entry = Assert.Single(PropertiesParser.Parse("dataDir=C:\\zk\\data", "zoo.cfg", warnings));
        Assert.Equal("C:zkdata", entry.Value); // What java.util.Properties makes of it.
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(("zoo.cfg", 1, "dataDir"), (w.File, w.Line, w.Key)));
    }

    [Fact]
    public void AMalformedUnicodeEscapeIsAnError()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("ok=1\nbad=\\u00zz"));
        Assert.Equal(("zoo.cfg", 2, "bad"), (e.File, e.Line, e.Key));
        Assert.Throws<ConfigException>(() => Parse("bad=\\u12"));
    }

    [Fact]
    public void RepeatedKeysAreAllReturnedInOrder() =>
        Assert.Equal([("a", "1", 1), ("a", "2", 2)], Triples("a=1\na=2"));

    [Fact]
    public void EmptyTextHasNoEntries()
    {
        Assert.Empty(Parse(""));
        Assert.Empty(Parse("\n\n  \n# only a comment"));
    }
}
