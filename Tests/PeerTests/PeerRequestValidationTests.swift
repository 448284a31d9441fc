import Ring
import Synchronization
import XCTest
@testable import Peer

/// Issue 14, medium: peer requests naming a key in the wrong partition, or a partition the
/// ring does not have, are refused before they touch the store.
final class PeerRequestValidationTests: XCTestCase {
    func call(_ e: NodeEngine, _ type: PeerMessageType, _ payload: [UInt8]) -> Result<[UInt8], RPCError> {
        let box = Mutex<Result<[UInt8], RPCError>?>(nil)
        e.handleRPC(type: type, payload: payload) { r in box.withLock { $0 = r } }
        return box.withLock { $0 } ?? .failure(.timeout)
    }

    func testReplicaWriteOfAKeyIntoTheWrongPartitionIsRefused() throws {
        let c = try DeterministicCluster.start(["n0", "n1", "n2"], seed: 0x5EED_0E14, limits: NodeEngine.Limits())
        defer { c.shutdown() }
        let e = try XCTUnwrap(c.engines["n0"])
        let ring = try XCTUnwrap(c.ring)
        let key = Array("misplaced".utf8), ns = Array("default".utf8)
        let right = UInt32(ring.partition(namespace: ns, key: key))
        let wrong = (right + 1) % UInt32(ring.partitionCount)
        let other = try ForgedContextTests.memoryReplica("n9")
        guard case .written(let record) = try other.coordinateWrite(KeyAddress(namespace: ns, partition: wrong, key: key), conflict: .siblings,
                                                                     context: nil, value: .value([1]), siblingLimit: 64) else { return XCTFail("write") }
        let bad = ReplicaWriteMessage(address: KeyAddress(namespace: ns, partition: wrong, key: key), record: record.encode(), hintFor: nil)
        guard case .failure(.remote(_, let message)) = call(e, .replicaWrite, bad.encode()) else { return XCTFail("a misplaced key was stored") }
        XCTAssertEqual(message, "ERR peer request puts a key of partition \(right) in partition \(wrong)")
        XCTAssertNil(try e.replica.read(KeyAddress(namespace: ns, partition: wrong, key: key)))
        let good = ReplicaWriteMessage(address: KeyAddress(namespace: ns, partition: right, key: key), record: record.encode(), hintFor: nil)
        guard case .success = call(e, .replicaWrite, good.encode()) else { return XCTFail("a well-placed key was refused") }
        // A batch keeps its good entries and drops the misplaced one.
        let xPartition = UInt32(ring.partition(namespace: ns, key: Array("x".utf8)))
        let batch = HintBatchMessage(entries: [(bad.address, bad.record), (KeyAddress(namespace: ns, partition: xPartition, key: Array("x".utf8)), record.encode())])
        guard case .success = call(e, .hintDelivery, batch.encode()) else { return XCTFail("the batch failed") }
        XCTAssertNotNil(try e.replica.read(KeyAddress(namespace: ns, partition: xPartition, key: Array("x".utf8))))
        XCTAssertNil(try e.replica.read(bad.address))
        XCTAssertEqual(e.requestCheck.refused.load(ordering: .relaxed), 2)
    }

    func testTreeRequestForAPartitionOutsideTheRingIsRefused() throws {
        let c = try DeterministicCluster.start(["n0", "n1", "n2"], seed: 0x5EED_0E15, limits: NodeEngine.Limits())
        defer { c.shutdown() }
        let e = try XCTUnwrap(c.engines["n0"])
        let request = TreeHashesRequest(tree: TreeID(partition: 1 << 20, namespace: Array("default".utf8)), inner: nil)
        guard case .failure = call(e, .merkleTree, request.encode()) else { return XCTFail("a tree of a partition outside the ring was built") }
        XCTAssertEqual(e.requestCheck.refused.load(ordering: .relaxed), 1)
        let fine = TreeHashesRequest(tree: TreeID(partition: 0, namespace: Array("default".utf8)), inner: nil)
        guard case .success = call(e, .merkleTree, fine.encode()) else { return XCTFail("a real tree was refused") }
    }
}
