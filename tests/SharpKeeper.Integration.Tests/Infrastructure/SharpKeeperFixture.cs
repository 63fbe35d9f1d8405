namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>One SharpKeeper process shared by a collection of tests.</summary>
public sealed class SharpKeeperFixture : IAsyncLifetime
{
    private SharpKeeperProcess? _server;

    public SharpKeeperProcess Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _server = await SharpKeeperProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharpKeeperCollection : ICollectionFixture<SharpKeeperFixture>
{
    public const string Name = "SharpKeeper process";
}
