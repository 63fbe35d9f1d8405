namespace SharpKeeper.Fuzz;

/// <summary>
/// One parser under fuzzing: what it does with an input, and the exceptions that mean "this input
/// was rejected as it should be". Any other exception is a bug: the fuzzer records it as a crash.
/// </summary>
public sealed record FuzzTarget(string Name, string What, Action<byte[]> Parse, params Type[] Rejections)
{
    /// <summary>Runs the parser; returns false when it rejected the input in the expected way.</summary>
    public bool Run(byte[] input)
    {
        try
        {
            Parse(input);
            return true;
        }
        catch (Exception e) when (Rejections.Any(type => type.IsInstanceOfType(e)))
        {
            return false;
        }
    }
}
