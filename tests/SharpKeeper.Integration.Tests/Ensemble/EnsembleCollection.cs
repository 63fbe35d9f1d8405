namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// Ensemble tests start three to five server processes each; on a small machine they would starve
/// the other tests' servers (and expire their sessions), so they run alone, one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnsembleCollection
{
    public const string Name = "Ensembles";
}
