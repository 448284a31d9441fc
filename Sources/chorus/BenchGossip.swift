// Placeholder until the Gossip benchmark lands: it says so and fails.
enum GossipBench {
    static func run(_ args: [String]) -> Int32 {
        printError("bench gossip is not built yet")
        return 1
    }
}
