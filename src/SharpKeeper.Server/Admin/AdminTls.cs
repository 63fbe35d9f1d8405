using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// HTTPS for the AdminServer as Apache's: with admin.forceHttps every connection must open with a
/// TLS handshake; with admin.portUnification a connection whose first byte starts a TLS record
/// (0x16) is served over TLS and any other as plain HTTP, on the same port. A verified client
/// certificate is the request's, for x509 authorization.
/// </summary>
internal static class AdminTls
{
    private const byte TlsHandshakeRecord = 0x16;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    public static void Use(ListenOptions listen, TlsMaterial material, bool forceHttps, ILogger logger, RateLimitedWarnings warnings)
    {
        listen.Use(next => async connection =>
        {
            if (!forceHttps && !await StartsTlsAsync(connection.Transport.Input, connection.ConnectionClosed).ConfigureAwait(false))
            {
                await next(connection).ConfigureAwait(false);
                return;
            }

            var original = connection.Transport;
            var tls = new SslStream(new DuplexPipeStream(original), leaveInnerStreamOpen: true);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
                timeout.CancelAfter(HandshakeTimeout);
                var options = material.ServerOptions((certificate, chain, errors) =>
                {
                    if (material.IsTrusted(certificate, chain, errors, out var problem))
                    {
                        return true;
                    }

                    if (warnings.ShouldLog("admin-client-certificate", Source(connection)))
                    {
                        logger.LogWarning("AdminServer refused a client certificate from {Remote}: {Problem}", connection.RemoteEndPoint, problem);
                    }

                    return false;
                });
                await tls.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or InvalidOperationException)
            {
                if (warnings.ShouldLog("admin-handshake", Source(connection)))
                {
                    logger.LogWarning("AdminServer TLS handshake with {Remote} failed: {Message}", connection.RemoteEndPoint, e.Message);
                }

                await tls.DisposeAsync().ConfigureAwait(false);
                return;
            }

            connection.Transport = new TlsPipe(tls);
            connection.Features.Set<ITlsConnectionFeature>(new ClientCertificateFeature(
                tls.RemoteCertificate is { } certificate ? TlsMaterial.AsCertificate2(certificate) : null));
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                await tls.DisposeAsync().ConfigureAwait(false);
                connection.Transport = original;
            }
        });
    }

    private static string Source(ConnectionContext connection) =>
        connection.RemoteEndPoint is System.Net.IPEndPoint endPoint ? endPoint.Address.ToString() : "unknown";

    /// <summary>Looks at the first byte without taking it: true when it opens a TLS record; false when it does not or none comes.</summary>
    private static async Task<bool> StartsTlsAsync(PipeReader input, CancellationToken cancellationToken)
    {
        try
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var startsTls = !buffer.IsEmpty && buffer.FirstSpan[0] == TlsHandshakeRecord;
            input.AdvanceTo(buffer.Start, buffer.Start);
            return startsTls;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The decrypted stream as the pipe Kestrel's HTTP layer reads and writes.</summary>
    private sealed class TlsPipe(Stream stream) : IDuplexPipe
    {
        public PipeReader Input { get; } = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));

        public PipeWriter Output { get; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    private sealed class ClientCertificateFeature(X509Certificate2? certificate) : ITlsConnectionFeature
    {
        public X509Certificate2? ClientCertificate { get; set; } = certificate;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
    }

    /// <summary>A connection's pipe as a stream, for SslStream to run over.</summary>
    private sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
    {
        private readonly Stream _input = pipe.Input.AsStream(leaveOpen: true);
        private readonly Stream _output = pipe.Output.AsStream(leaveOpen: true);

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _input.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _input.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _output.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _output.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => _output.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
