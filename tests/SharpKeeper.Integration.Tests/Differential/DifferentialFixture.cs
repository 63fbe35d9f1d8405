using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>Apache ZooKeeper 3.8 and SharpKeeper side by side, shared by all differential cases.</summary>
public sealed class DifferentialFixture : IAsyncLifetime
{
    private ApacheZooKeeperProcess? _apache;
    private SharpKeeperProcess? _sharp;

    public int ApachePort => _apache!.Port;
    public int SharpPort => _sharp!.Port;
    public string SharpLog => _sharp!.Log;

    public async Task InitializeAsync()
    {
        var apache = ApacheZooKeeperProcess.StartAsync();
        var sharp = SharpKeeperProcess.StartAsync("znode.container.checkIntervalMs=1000");
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

[CollectionDefinition(Name)]
public sealed class DifferentialCollection : ICollectionFixture<DifferentialFixture>
{
    public const string Name = "Apache vs SharpKeeper";
}
