// Shared fixtures for the coordinator tests (named *Tests.swift only to sit among the files
// this module's coordinator owns). A compact notation keeps the tables readable:
//
//   replicas "a:P b:P- c:P d:F e:F- x:X"   P primary, F fallback, X pending owner; '-' = down
//   write answers "b+ c- d+"               + ack, - nack; a node not listed never answers
//   read answers  "a=2 b=nil c!"           =version (nil = not found), ! failure
//   sends "b c d>c"                         replicate to b, to c, to d as a hint for c
import XCTest
@testable import Peer

/// Parses the replica notation above.
func replicas(_ text: String) -> [QuorumReplica] {
    text.split(separator: " ").map { item in
        let parts = item.split(separator: ":")
        let node = String(parts[0])
        var code = String(parts[1])
        let up = !code.hasSuffix("-")
        if !up { code.removeLast() }
        switch code {
        case "P": return .primary(node, up: up)
        case "F": return .fallback(node, up: up)
        case "X": return .pendingOwner(node, up: up)
        default: preconditionFailure("bad replica notation \(item)")
        }
    }
}

/// Renders replicate actions as "b c d>c".
func renderSends(_ actions: [WriteCoordinatorAction]) -> String {
    actions.compactMap { action -> String? in
        guard case .replicate(let node, let hint) = action else { return nil }
        return hint.map { "\(node)>\($0)" } ?? node
    }.joined(separator: " ")
}

/// Renders a write reply as "ok", "unavailable 1/2", "timeout 1/2", "unreachable 1/2",
/// "nocoordinator", "localfailed".
func renderWriteReply(_ reply: WriteReply?) -> String {
    switch reply {
    case nil: return "none"
    case .ok?: return "ok"
    case .failed(let failure)?: return renderFailure(failure)
    }
}

func renderFailure(_ failure: CoordinatorFailure) -> String {
    switch failure.reason {
    case .unreachable: return "unreachable \(failure.answered)/\(failure.required)"
    case .failedReplies: return "unavailable \(failure.answered)/\(failure.required)"
    case .timedOut: return "timeout \(failure.answered)/\(failure.required)"
    case .noCoordinator: return "nocoordinator"
    case .coordinatorsSilent: return "silentcoordinators"
    case .localWriteFailed: return "localfailed"
    case .unansweredIncrement: return "unansweredincrement"
    }
}

/// A fake key state for read tests: last-writer-wins on an integer version (a total order,
/// so merge is commutative, associative and idempotent, as the protocol demands).
struct FakeState: QuorumMergeable, Equatable, CustomStringConvertible {
    var version: Int
    static func merge(_ a: FakeState, _ b: FakeState) -> FakeState { a.version >= b.version ? a : b }
    func isEquivalent(to merged: FakeState) -> Bool { self == merged }
    var description: String { String(version) }
}


/// Runs a write through a coordinator: start, local apply, the answers in order, then the
/// timeout (the timer always fires in the end). Returns every action emitted, in order.
func runWrite(_ coordinator: inout WriteCoordinator, localOK: Bool = true, answers: String) -> [WriteCoordinatorAction] {
    var actions = coordinator.start()
    if coordinator.phase == .applyingLocally {
        actions += coordinator.onLocalApplied(ok: localOK)
        for item in answers.split(separator: " ") {
            let node = String(item.dropLast())
            actions += item.hasSuffix("+") ? coordinator.onAck(from: node) : coordinator.onNack(from: node)
        }
    }
    actions += coordinator.onTimeout()
    return actions
}

/// The replies among actions.
func writeReplies(_ actions: [WriteCoordinatorAction]) -> [WriteReply] {
    actions.compactMap { if case .reply(let reply) = $0 { return reply } else { return nil } }
}

final class CoordinatorFixturesTests: XCTestCase {
    func testReplicaNotationParsesRolesAndLiveness() {
        XCTAssertEqual(replicas("a:P b:P- c:F x:X-"),
                       [.primary("a"), .primary("b", up: false), .fallback("c"), .pendingOwner("x", up: false)])
    }

    func testFakeStateMergeKeepsHighestVersionInEitherOrder() {
        XCTAssertEqual(FakeState.merge(FakeState(version: 1), FakeState(version: 3)), FakeState(version: 3))
        XCTAssertEqual(FakeState.merge(FakeState(version: 3), FakeState(version: 1)), FakeState(version: 3))
    }
}
