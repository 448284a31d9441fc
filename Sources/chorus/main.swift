// The chorus executable: argument parsing and wiring only.
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: chorus <command> [options]

commands:
  serve           run a peer (see chorus serve --help)
  get, set, del, getv, putv, status, ring, leave, remove, repair
                  talk to a peer over RESP (-h HOST -p PORT -a PASSWORD)
  backup, restore a peer's checkpoint on its machine; a backup merged into a cluster
  top             live per-peer request rates, hints, disk state, warnings
  bench storage   LevelDB db_bench workloads against the Storage engine
  bench ring      ring claim simulation from 1 to 1,000 nodes and back
  bench gossip    SWIM dissemination and detection figures on the simulator
  bench cluster   SET/GET load against a running peer (or a redis-server, for reference)
  bench backup    what a checkpoint of a 1 GB store costs requests running beside it
  bench sim       seeded whole-cluster fault schedules on the deterministic simulator
  fuzz            feed mutated bytes to every decoder of outside input (chorus fuzz --list)

Every command takes --help.
"""

func printError(_ message: String) {
    var line = "chorus: " + message + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

var args = Array(CommandLine.arguments.dropFirst())
// redis-cli style: connection flags may come before a client command (chorus -h HOST get k).
var globalFlags: [String] = []
while args.count >= 2, ["-h", "-p", "-a", "-n"].contains(args[0]) {
    globalFlags += args.prefix(2)
    args.removeFirst(2)
}
if !globalFlags.isEmpty, let first = args.first {
    args = [first] + globalFlags + args.dropFirst()
}
var status: Int32 = 0
switch args.first {
case nil, "--help", "-h", "help":
    print(usage)
case "fuzz":
    status = FuzzCommand.run(Array(args.dropFirst()))
case "bench":
    let rest = Array(args.dropFirst(2))
    switch args.dropFirst().first {
    case "storage": status = StorageBench.run(rest)
    case "ring": status = RingBench.run(rest)
    case "gossip": status = GossipBench.run(rest)
    case "cluster": status = ClusterBench.run(rest)
    case "backup": status = BackupBench.run(rest)
    case "sim": status = SimBench.run(rest)
    default:
        printError("bench needs one of: storage, ring, gossip, cluster, backup, sim")
        status = 2
    }
case "serve":
    status = ServeCommand.run(Array(args.dropFirst()))
case "get", "set", "del", "getv", "putv", "status", "ring", "leave", "remove", "repair":
    status = ClientCommand.run(args[0], Array(args.dropFirst()))
case "top":
    status = TopCommand.run(Array(args.dropFirst()))
case "backup", "restore":
    status = BackupCommand.run(args[0], Array(args.dropFirst()))
case "storage-tool":  // hidden: the crash test's writer and checker
    status = StorageTool.run(Array(args.dropFirst()))
default:
    printError("unknown command \(args[0]); see chorus --help")
    status = 2
}
exit(status)
