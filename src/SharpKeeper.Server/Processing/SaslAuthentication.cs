using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// The SASL DIGEST-MD5 exchanges in progress, one per connection, as Apache's processSasl runs them:
/// a completed exchange adds the sasl id (and super for zookeeper.superUser) to the connection; a
/// failed one, or SASL on a server without it, is refused (AUTHFAILED, or SESSIONCLOSEDREQUIRESASLAUTH
/// where SASL is required) and the connection closed, unless allowSaslFailedClients keeps it.
/// Core thread only.
/// </summary>
public sealed class SaslAuthentication(CoreOptions options, ILogger logger)
{
    private readonly Dictionary<IClientConnection, DigestMd5Server> _exchanges = new(ReferenceEqualityComparer.Instance);

    /// <summary>The answer to one SASL request: the error, the server's token, and whether the connection closes.</summary>
    public readonly record struct Step(ErrorCode Err, byte[]? Token, string? CloseReason);

    public Step Evaluate(IClientConnection connection, byte[]? clientToken)
    {
        if (options.SaslUsers is not { } users)
        {
            logger.LogWarning("Client {Address} asked for SASL authentication, which is not configured here (java.security.auth.login.config)", connection.RemoteAddress);
            return new Step(ErrorCode.AuthFailed, null, "SASL is not configured");
        }

        if (!_exchanges.TryGetValue(connection, out var exchange))
        {
            exchange = new DigestMd5Server(name => users.GetValueOrDefault(name));
            _exchanges[connection] = exchange;
        }

        try
        {
            var token = exchange.Evaluate(clientToken ?? []);
            if (exchange.AuthorizationId is { } user)
            {
                _exchanges.Remove(connection);
                var ids = new List<Id> { new(AuthProviders.Sasl, user) };
                if (options.SaslSuperUser == user)
                {
                    ids.Add(new Id(AuthProviders.Super, ""));
                }

                connection.AuthInfo = [.. ids, .. connection.AuthInfo.Where(id => !ids.Contains(id))];
                logger.LogInformation("Client {Address} authenticated with SASL DIGEST-MD5 as {User}", connection.RemoteAddress, user);
            }

            return new Step(ErrorCode.Ok, token, null);
        }
        catch (SaslFailure e)
        {
            _exchanges.Remove(connection);
            logger.LogWarning("Client {Address} failed to SASL authenticate: {Reason}", connection.RemoteAddress, e.Message);
            var saslRequired = options.EnforcedAuthSchemes?.Contains(AuthProviders.Sasl) == true;
            if (options.AllowSaslFailedClients && !saslRequired)
            {
                // As Apache with allowSaslFailedClients: the client stays, unauthenticated.
                logger.LogWarning("Keeping client {Address} connected despite its SASL failure (allowSaslFailedClients)", connection.RemoteAddress);
                return new Step(ErrorCode.Ok, null, null);
            }

            return new Step(saslRequired ? ErrorCode.SessionClosedRequireSaslAuth : ErrorCode.AuthFailed, null, "SASL authentication failed");
        }
    }

    /// <summary>The connection ended: an exchange it left unfinished is dropped.</summary>
    public void Forget(IClientConnection connection) => _exchanges.Remove(connection);
}
