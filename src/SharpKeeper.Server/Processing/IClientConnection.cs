using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// A client connection as the core sees it. All calls come from the core's thread; sends are
/// buffered and written to the socket by the network layer.
/// </summary>
public interface IClientConnection : IWatcher
{
    long ConnectionId { get; }

    /// <summary>The peer's IP address, as the "ip" auth scheme sees it.</summary>
    string RemoteAddress { get; }

    long SessionId { get; set; }

    /// <summary>The ids the session authenticated as (shared with its session).</summary>
    IReadOnlyList<Id> AuthInfo { get; set; }

    ConnectionStats Stats { get; }

    /// <summary>Ids the transport itself authenticated (a verified TLS client certificate's subject); none on a plain connection.</summary>
    IReadOnlyList<Id> TransportIds => [];

    bool IsClosed { get; }

    void SendConnectResponse(ConnectResponse response);

    /// <summary>Queues a reply. The body is valid only during the call (getChildren's is a live view of the tree): write or copy it before returning.</summary>
    /// <returns>The reply's size in bytes (without its length prefix), for the response-size figures.</returns>
    int SendReply(in ReplyHeader header, Response? body);

    /// <summary>Closes after the replies queued so far are written.</summary>
    void Close(string reason);

    /// <summary>
    /// Pushes buffered replies to the socket; called once per batch of core work. With
    /// <paramref name="sendHere"/> the send happens on the calling thread, before Flush returns; without
    /// it another thread sends, in parallel with the core's next batch.
    /// </summary>
    void Flush(bool sendHere);
}
