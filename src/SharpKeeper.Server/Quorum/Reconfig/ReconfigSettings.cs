namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>The configuration keys reconfig depends on: reconfigEnabled, standaloneEnabled and multiAddress.enabled.</summary>
public sealed record ReconfigSettings(bool Enabled, bool StandaloneEnabled, bool MultiAddressEnabled)
{
    public static readonly ReconfigSettings Disabled = new(false, true, false);
}
