using System.Globalization;
using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>
/// Runs one scripted case against one server and writes down everything observable in a
/// server-independent form: zxids relative to the case's start, session ids by index, times
/// dropped, children sorted, watch events with their position among the replies.
/// </summary>
public sealed class Transcript(int port) : IAsyncDisposable
{
    private readonly List<RawSession> _sessions = [];
    private readonly List<string> _lines = [];
    private long _baseZxid = -1;

    public IReadOnlyList<string> Lines => _lines;

    public int Port => port;

    /// <summary>Opens <paramref name="count"/> sessions, then fixes the zxid base.</summary>
    public async Task OpenAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _sessions.Add(await RawSession.ConnectAsync(port));
        }

        await RebaseAsync();
    }

    /// <summary>
    /// Makes later zxids relative to now. Used after waiting on the server's own background work,
    /// whose number of transactions may legitimately differ with timing.
    /// </summary>
    public async Task RebaseAsync()
    {
        var (header, _) = await _sessions[0].SendAsync(OpCode.Exists, new PathWatchRequest("/zookeeper", false));
        _baseZxid = header.Zxid;
    }

    public RawSession Session(int index) => _sessions[index];

    /// <summary>Adds a session that the transcript never pings (so it can expire); returns its index.</summary>
    public async Task<int> ConnectQuietAsync(int timeoutMs)
    {
        _sessions.Add(await RawSession.ConnectAsync(port, timeoutMs));
        _closed.Add(_sessions.Count - 1);
        return _sessions.Count - 1;
    }

    public void Note(string line) => _lines.Add(line);

    public async Task<(ReplyHeader Header, Response? Body)> OpAsync(int session, OpCode op, PathRequest? body, string? label = null)
    {
        var reply = await _sessions[session].SendAsync(op, body);
        Record(session, label ?? $"{op} {body?.Path}", reply);
        return reply;
    }

    public async Task<(ReplyHeader Header, Response? Body)> MultiAsync(int session, IReadOnlyList<MultiOp> ops, bool read = false)
    {
        var reply = await _sessions[session].MultiAsync(ops, read);
        Record(session, (read ? "multiRead " : "multi ") + string.Join(",", ops.Select(o => $"{o.Type}:{o.Request.Path}")), reply);
        return reply;
    }

    public async Task AuthAsync(int session, string scheme, string credentials)
    {
        var reply = await _sessions[session].SendAsync(OpCode.Auth, w => new AuthPacket(0, scheme, Encoding.UTF8.GetBytes(credentials)).Write(w), Xids.Auth);
        Record(session, $"auth {scheme}", reply);
    }

    public async Task ReconfigAsync(int session, ReconfigRequest request)
    {
        var reply = await _sessions[session].SendAsync(OpCode.Reconfig, request.Write);
        Record(session, $"reconfig +[{request.JoiningServers}] -[{request.LeavingServers}] =[{request.NewMembers}] from {request.CurConfigId}", reply);
    }

    /// <summary>Closes a session with closeSession and records the reply.</summary>
    public async Task CloseSessionAsync(int session)
    {
        var reply = await _sessions[session].SendAsync(OpCode.CloseSession, _ => { });
        Record(session, "closeSession", reply);
    }

    /// <summary>Pings every session so pending events arrive, then writes down all events seen so far.</summary>
    public async Task FlushEventsAsync()
    {
        for (var i = 0; i < _sessions.Count; i++)
        {
            if (_closed.Contains(i))
            {
                continue;
            }

            await _sessions[i].SendAsync(OpCode.Ping, _ => { }, Xids.Ping);
            foreach (var (e, before) in _sessions[i].Events)
            {
                _lines.Add($"s{i} event {e.Type} {e.State} {e.Path} after-reply#{before}");
            }

            _sessions[i].Events.Clear();
        }
    }

    private readonly HashSet<int> _closed = [];

    public void MarkClosed(int session) => _closed.Add(session);

    private void Record(int session, string label, (ReplyHeader Header, Response? Body) reply)
    {
        var (header, body) = reply;
        if (header.Xid == Xids.Ping)
        {
            return;
        }

        _lines.Add($"s{session} {label} -> {header.Err} zxid={Z(header.Zxid)} {Describe(body)}".TrimEnd());
    }

    private string Describe(Response? body) => body switch
    {
        null => "",
        CreateResponse c => $"path={c.Path}" + (c.Stat is { } s ? " " + Stat(s) : ""),
        StatResponse s => Stat(s.Stat),
        GetDataResponse d => $"data={(d.Data is null ? "null" : Encoding.UTF8.GetString(d.Data))} {Stat(d.Stat)}",
        GetChildrenResponse c => $"children=[{string.Join(",", c.Children.Order(StringComparer.Ordinal))}]" + (c.Stat is { } s ? " " + Stat(s) : ""),
        GetAclResponse a => $"acl=[{string.Join(",", a.Acl.Select(x => $"{(int)x.Perms}:{x.Id}"))}] {Stat(a.Stat)}",
        PathResponse p => $"path={p.Path}",
        IntResponse i => $"int={i.Value}",
        StringListResponse l => $"list=[{string.Join(",", l.Values.Order(StringComparer.Ordinal))}]",
        WhoAmIResponse w => $"whoami=[{string.Join(",", w.Clients.Select(c => $"{c.AuthScheme}:{c.User}"))}]",
        MultiResponse m => "results=[" + string.Join("; ", m.Results.Select(r => $"{r.Type}/{r.Err} {Describe(r.Body is IntResponse ? null : r.Body)}".TrimEnd())) + "]",
        EmptyResponse => "",
        _ => body.ToString() ?? "",
    };

    private string Stat(Stat s) =>
        $"stat(czxid={Z(s.Czxid)} mzxid={Z(s.Mzxid)} pzxid={Z(s.Pzxid)} v={s.Version} cv={s.Cversion} av={s.Aversion} owner={Owner(s.EphemeralOwner)} len={s.DataLength} kids={s.NumChildren})";

    private string Owner(long owner)
    {
        if (owner == 0)
        {
            return "0";
        }

        var index = _sessions.FindIndex(s => s.SessionId == owner);
        return index >= 0 ? $"s{index}" : "0x" + owner.ToString("x", CultureInfo.InvariantCulture);
    }

    /// <summary>A zxid relative to the case start; zxids from before the case are shown as "old".</summary>
    private string Z(long zxid) => zxid <= 0 ? zxid.ToString(CultureInfo.InvariantCulture)
        : zxid <= _baseZxid ? "old" : "+" + (zxid - _baseZxid).ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions)
        {
            await session.DisposeAsync();
        }
    }
}
