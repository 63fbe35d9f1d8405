using System.CommandLine;
using SharpKeeper.Cli;

var configArgument = new Argument<string?>("config") { Description = "Path to zoo.cfg (default: the embedded standalone configuration)", Arity = ArgumentArity.ZeroOrOne };

var startForeground = new Command("start-foreground", "Run the server in the foreground until SIGTERM or Ctrl-C") { configArgument };
startForeground.SetAction((parse, cancellationToken) => ServerCommands.StartForegroundAsync(parse.GetValue(configArgument), cancellationToken));

var status = new Command("status", "Ask the server its mode, as zkServer.sh status does") { configArgument };
status.SetAction(parse => ServerCommands.Status(parse.GetValue(configArgument)));

var stop = new Command("stop", "Stop a server started with start-foreground, by the pid file in its dataDir") { configArgument };
stop.SetAction(parse => ServerCommands.Stop(parse.GetValue(configArgument)));

var version = new Command("version", "Print the version");
version.SetAction(_ => ServerCommands.Version());

var root = new RootCommand("SharpKeeper: a ZooKeeper-compatible coordination service") { startForeground, status, stop, version };
return await root.Parse(args).InvokeAsync();
