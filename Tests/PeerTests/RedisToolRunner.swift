import Foundation
import XCTest

/// Finds and runs the Debian redis tools for the tests that drive Chorus with them.
enum RedisToolRunner {
    /// The tool's path, or a skip when redis-tools is not installed (scripts/test.sh installs it).
    static func tool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw XCTSkip("\(name) is not installed (apt-get install -y redis-tools)")
    }

    /// Runs a tool with a 60 s bound; returns exit status and stdout with stderr.
    static func run(_ path: String, _ arguments: [String], stdin: [UInt8]? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("\(path) did not finish in 60 s")
        }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
