// Placeholder until the Storage benchmark lands: it says so and fails.
enum StorageBench {
    static func run(_ args: [String]) -> Int32 {
        printError("bench storage is not built yet")
        return 1
    }
}
