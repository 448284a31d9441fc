// The chorus executable: argument parsing and wiring only.
#if canImport(Glibc)
import Glibc
#endif

let usage = """
usage: chorus <command> [options]

commands:
  bench storage   LevelDB db_bench workloads against the Storage engine
  bench ring      ring claim simulation from 1 to 1,000 nodes and back
  bench gossip    SWIM dissemination and detection figures on the simulator

Every command takes --help.
"""

func printError(_ message: String) {
    var line = "chorus: " + message + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

let args = Array(CommandLine.arguments.dropFirst())
var status: Int32 = 0
switch args.first {
case nil, "--help", "-h", "help":
    print(usage)
case "bench":
    let rest = Array(args.dropFirst(2))
    switch args.dropFirst().first {
    case "storage": status = StorageBench.run(rest)
    case "ring": status = RingBench.run(rest)
    case "gossip": status = GossipBench.run(rest)
    default:
        printError("bench needs one of: storage, ring, gossip")
        status = 2
    }
case "storage-tool":  // hidden: the crash test's writer and checker
    status = StorageTool.run(Array(args.dropFirst()))
default:
    printError("unknown command \(args[0]); see chorus --help")
    status = 2
}
exit(status)
