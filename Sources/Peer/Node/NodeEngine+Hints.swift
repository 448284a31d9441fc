extension NodeEngine {
    /// Every `hintIntervalMs`, sends each owner that is up one batch of its hints; a batch
    /// is deleted only after the owner acknowledged it, and the next batch for that owner
    /// waits for the previous (so delivery is paced by the owner's own speed).
    func scheduleHintDelivery() {
        scheduler.after(ms: limits.hintIntervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.deliverHints()
            self.scheduleHintDelivery()
        }
    }

    /// Every `hintExpiryIntervalMs`, on the background queue, deletes the hints older than
    /// `hintWindowMs` (HintStore.swift): an owner down that long is repaired by anti-entropy.
    func scheduleHintExpiry() {
        guard limits.hintWindowMs > 0 else { return }
        background.after(ms: NodeEngine.hintExpiryIntervalMs) { [weak self] in
            guard let self, !self.isStopped else { return }
            self.expireHints()
            self.scheduleHintExpiry()
        }
    }

    static let hintExpiryIntervalMs = 10_000

    /// One expiry pass (also callable from tests); a failure is counted (INFO
    /// `hints_expiry_errors`) and the next pass tries again.
    public func expireHints() {
        do {
            try replica.hints.expire(windowMs: limits.hintWindowMs)
        } catch {
            replica.hints.expiryFailed()
        }
    }

    /// One round of hint delivery (also callable from tests).
    public func deliverHints() {
        let snap = cluster.snapshot()
        for (target, count) in replica.hints.targets where count > 0 && target != nodeID && snap.isUp(target) {
            let claimed = delivering.withLock { $0.insert(target).inserted }
            guard claimed else { continue }
            let batch: [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])]
            do {
                batch = try replica.hints.batch(for: target, limit: limits.hintBatchSize)
            } catch {
                _ = delivering.withLock { $0.remove(target) }
                continue
            }
            guard !batch.isEmpty else {
                _ = delivering.withLock { $0.remove(target) }
                continue
            }
            let message = HintBatchMessage(entries: batch.map { ($0.address, $0.record) })
            transport.send(to: target, type: .hintDelivery, payload: message.encode(), timeoutMs: 10_000) { [self] result in
                if case .success = result {
                    do {
                        try replica.hints.remove(batch.map(\.storageKey), target: target)
                        counters.bump(counters.hintsDelivered, UInt64(batch.count))
                    } catch {}
                }
                _ = delivering.withLock { $0.remove(target) }
            }
        }
    }
}
