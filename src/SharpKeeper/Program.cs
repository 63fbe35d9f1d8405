using System.CommandLine;
using SharpKeeper.Cli;

// Socket completions run on the socket engine's threads (one per core) instead of hopping to the
// thread pool: with the core run by whichever thread posts to it and replies sent inline, a request
// is read, answered and its reply sent by one thread. Set before any socket exists, as the runtime
// reads it once; an operator's own setting wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var configArgument = new Argument<string?>("config") { Description = "Path to zoo.cfg (default: the embedded standalone configuration)", Arity = ArgumentArity.ZeroOrOne };

var startForeground = new Command("start-foreground", "Run the server in the foreground until SIGTERM or Ctrl-C") { configArgument };
startForeground.SetAction((parse, cancellationToken) => ServerCommands.StartForegroundAsync(parse.GetValue(configArgument), cancellationToken));

var status = new Command("status", "Ask the server its mode, as zkServer.sh status does") { configArgument };
status.SetAction(parse => ServerCommands.Status(parse.GetValue(configArgument)));

var stop = new Command("stop", "Stop a server started with start-foreground, by the pid file in its dataDir") { configArgument };
stop.SetAction(parse => ServerCommands.Stop(parse.GetValue(configArgument)));

var version = new Command("version", "Print the version");
version.SetAction(_ => ServerCommands.Version());

var configKeys = new Command("config-keys", "List every zoo.cfg key: kind, default, range, system property alias, what reads it (or why it is ignored)");
configKeys.SetAction(_ => ServerCommands.ConfigKeys());

var retainOption = new Option<int>("-n") { Description = "Snapshots to keep (at least 3)", DefaultValueFactory = _ => 3 };
var cleanup = new Command("cleanup", "Delete old snapshots and the logs no kept snapshot needs (zkCleanup.sh)") { configArgument, retainOption };
cleanup.SetAction(parse => StoreCommands.Cleanup(parse.GetValue(configArgument), parse.GetValue(retainOption)));

var fileArgument = new Argument<string>("file") { Description = "A snapshot.<zxid> or log.<zxid> file" };
var withDataOption = new Option<bool>("-d") { Description = "Also print each node's data (base64)" };
var snapshotDump = new Command("snapshot-dump", "Print a snapshot's nodes and sessions (zkSnapShotToolkit)") { fileArgument, withDataOption };
snapshotDump.SetAction(parse => StoreCommands.SnapshotDump(parse.GetValue(fileArgument)!, parse.GetValue(withDataOption)));

var txnlogDump = new Command("txnlog-dump", "Print a transaction log's records, verifying checksums (zkTxnLogToolkit)") { fileArgument };
txnlogDump.SetAction(parse => StoreCommands.TxnLogDump(parse.GetValue(fileArgument)!));

var root = new RootCommand("SharpKeeper: a ZooKeeper-compatible coordination service")
{
    startForeground, status, stop, version, configKeys, cleanup, snapshotDump, txnlogDump,
};
return await root.Parse(args).InvokeAsync();
