namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>What a client did to one znode used as a register: create, write, compare-and-set on a version, or sync-then-read.</summary>
public enum RegisterOpKind
{
    Create,
    Write,
    CompareAndSet,
    Read,
}

/// <summary>
/// One operation of a client history. Its outcome is unknown (<see cref="Returned"/> false) when the
/// connection died first: it may or may not have taken effect.
/// </summary>
public sealed class RegisterOp(RegisterOpKind kind, int value, int expectedVersion, long invokedAt)
{
    public RegisterOpKind Kind { get; } = kind;
    public int Value { get; } = value;
    public int ExpectedVersion { get; } = expectedVersion;
    public long InvokedAt { get; } = invokedAt;
    public long ReturnedAt { get; private set; } = long.MaxValue;
    public bool Returned { get; private set; }

    /// <summary>"ok", "exists", "nonode", "badversion"; for reads "value@version".</summary>
    public string? Outcome { get; private set; }

    public void Complete(string outcome, long at)
    {
        Outcome = outcome;
        ReturnedAt = at;
        Returned = true;
    }

    public override string ToString() => $"{Kind}({Value},v{ExpectedVersion}) [{InvokedAt},{(Returned ? ReturnedAt : "?")}] -> {Outcome ?? "?"}";
}

/// <summary>
/// Checks that a history of operations on one register is linearizable: there is one order of the
/// operations, consistent with real time (an operation that returned before another was invoked
/// comes first), in which each returned outcome is what a single register would answer. Operations
/// whose outcome is unknown may be placed anywhere after their invocation, or left out. A depth-first
/// search over the operations that can go next (Wing and Gong's algorithm), memoizing visited states.
/// </summary>
public static class LinearizabilityChecker
{
    private readonly record struct Register(bool Exists, int Value, int Version);

    public static bool IsLinearizable(IReadOnlyList<RegisterOp> history, out string explanation)
    {
        var ops = history.Where(o => o.Returned || o.Kind != RegisterOpKind.Read).OrderBy(o => o.InvokedAt).ToList();
        var done = new bool[ops.Count];

        // The set of placed operations, hashed incrementally (a random 64-bit key per operation, XORed).
        var keys = new ulong[ops.Count];
        var random = new Random(ops.Count);
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 1);
        }

        ulong placedHash = 0;
        var visited = new HashSet<(ulong, Register)>();
        var remaining = ops.Count(o => o.Returned);
        var deepest = 0;
        if (Search(new Register(false, 0, -1), remaining, 0))
        {
            explanation = "";
            return true;
        }

        explanation = $"no linear order of {ops.Count} operations; at most {deepest} of them could be placed:\n"
            + string.Join("\n", ops.Select(o => "  " + o));
        return false;

        bool Search(Register state, int returnedLeft, int placed)
        {
            if (returnedLeft == 0)
            {
                return true;
            }

            deepest = Math.Max(deepest, placed);
            if (!visited.Add((placedHash, state)))
            {
                return false;
            }

            // Only an operation invoked before every pending returned operation has returned can go next.
            var horizon = long.MaxValue;
            for (var i = 0; i < ops.Count; i++)
            {
                if (!done[i] && ops[i].Returned)
                {
                    horizon = Math.Min(horizon, ops[i].ReturnedAt);
                }
            }

            for (var i = 0; i < ops.Count; i++)
            {
                var op = ops[i];
                if (done[i] || op.InvokedAt > horizon)
                {
                    continue;
                }

                var (next, outcome) = Apply(state, op);
                if (op.Returned && outcome != op.Outcome)
                {
                    continue;
                }

                done[i] = true;
                placedHash ^= keys[i];
                if (Search(next, returnedLeft - (op.Returned ? 1 : 0), placed + 1))
                {
                    return true;
                }

                placedHash ^= keys[i];
                done[i] = false;
            }

            return false;
        }
    }

    private static (Register Next, string Outcome) Apply(Register state, RegisterOp op) => op.Kind switch
    {
        RegisterOpKind.Create => state.Exists ? (state, "exists") : (new Register(true, op.Value, 0), "ok"),
        RegisterOpKind.Write => !state.Exists ? (state, "nonode") : (state with { Value = op.Value, Version = state.Version + 1 }, "ok"),
        RegisterOpKind.CompareAndSet => !state.Exists ? (state, "nonode")
            : state.Version != op.ExpectedVersion ? (state, "badversion")
            : (state with { Value = op.Value, Version = state.Version + 1 }, "ok"),
        _ => (state, state.Exists ? $"{state.Value}@{state.Version}" : "nonode"),
    };
}
