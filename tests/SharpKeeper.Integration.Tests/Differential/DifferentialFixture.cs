using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>An Apache ZooKeeper 3.8 server and a SharpKeeper server with the same settings, for differential cases.</summary>
public abstract class ServerPairFixture(string apacheConfig, string sharpConfig) : IAsyncLifetime
{
    private ApacheZooKeeperProcess? _apache;
    private SharpKeeperProcess? _sharp;

    public int ApachePort => _apache!.Port;
    public int SharpPort => _sharp!.Port;
    public string SharpLog => _sharp!.Log;

    public async Task InitializeAsync()
    {
        var apache = ApacheZooKeeperProcess.StartAsync(extraConfig: apacheConfig);
        var sharp = SharpKeeperProcess.StartAsync(sharpConfig);
        _apache = await apache;
        _sharp = await sharp;
    }

    public async Task DisposeAsync()
    {
        if (_apache is not null)
        {
            await _apache.DisposeAsync();
        }

        if (_sharp is not null)
        {
            await _sharp.DisposeAsync();
        }
    }
}

/// <summary>The pair shared by all differential cases.</summary>
public sealed class DifferentialFixture() : ServerPairFixture("", "znode.container.checkIntervalMs=1000");

/// <summary>A pair started with skipACL=yes.</summary>
public sealed class SkipAclFixture() : ServerPairFixture("skipACL=yes", "skipACL=yes");

[CollectionDefinition(Name)]
public sealed class DifferentialCollection : ICollectionFixture<DifferentialFixture>
{
    public const string Name = "Apache vs SharpKeeper";
}

public sealed class ReconfigEnabledFixture() : ServerPairFixture("reconfigEnabled=true", "reconfigEnabled=true");
