// Placeholder until the Ring benchmark lands: it says so and fails.
enum RingBench {
    static func run(_ args: [String]) -> Int32 {
        printError("bench ring is not built yet")
        return 1
    }
}
