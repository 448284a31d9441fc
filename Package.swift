// swift-tools-version:6.1
// Chorus: a leaderless, Dynamo-style key-value store. No package dependencies, by design.
import PackageDescription

let optimize: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Storage", targets: ["Storage"]),
        .executable(name: "chorus", targets: ["chorus"]),
    ],
    targets: [
        .target(name: "CSystem"),
        // The one byte reader/writer every format uses (integers, varints, length prefixes).
        .target(name: "Bytes", swiftSettings: optimize),
        .target(name: "Storage", dependencies: ["Bytes", "CSystem"], exclude: ["FORMAT.md"], swiftSettings: optimize),
        .target(name: "Ring", dependencies: ["Bytes"], exclude: ["FORMAT.md"]),
        // One socket layer for every module: addresses, sockets, the epoll event loops.
        .target(name: "Net", dependencies: ["CSystem"], swiftSettings: optimize),
        .target(name: "Gossip", dependencies: ["Bytes", "Net"], exclude: ["PROTOCOL.md"]),
        .target(name: "Peer", dependencies: ["Bytes", "Storage", "Ring", "Gossip", "Net", "CSystem"], exclude: ["RPC/RPC.md", "Coordinator/COORDINATOR.md", "Versions/RECORDS.md", "RPC/PROTOCOL.md"], swiftSettings: optimize),
        .executableTarget(name: "chorus", dependencies: ["Storage", "Ring", "Gossip", "Net", "Peer"]),
        .testTarget(name: "BytesTests", dependencies: ["Bytes"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Bytes"]),
        .testTarget(name: "RingTests", dependencies: ["Ring", "Bytes"]),
        .testTarget(name: "NetTests", dependencies: ["Net"]),
        .testTarget(name: "GossipTests", dependencies: ["Gossip", "Bytes", "Net"]),
        .testTarget(name: "PeerTests", dependencies: ["Peer", "Storage", "Ring", "Gossip", "Bytes", "Net"]),
    ],
    swiftLanguageModes: [.v5]
)
