/// One planned compaction: files of `level` (inputs[0]) merged with the overlapping files of
/// `level + 1` (inputs[1]) into new files of `level + 1`.
struct Compaction {
    let level: Int
    let inputs: [[FileMetaData]]
    /// A single input with nothing to merge below: re-parent it instead of rewriting it.
    var isTrivialMove: Bool { inputs[0].count == 1 && inputs[1].isEmpty }
    var allInputs: [FileMetaData] { inputs[0] + inputs[1] }
    var inputBytes: UInt64 { allInputs.reduce(0) { $0 + $1.size } }
}

/// A caller-requested compaction of a key range through every level.
final class ManualCompaction {
    let start: [UInt8]?
    let end: [UInt8]?
    var level = 0
    var done = false
    var error: StorageError?
    init(start: [UInt8]?, end: [UInt8]?) {
        self.start = start
        self.end = end
    }
}

/// Chooses what to compact from the shape of a version (pure; the store holds its lock).
struct CompactionPicker {
    let options: StorageOptions

    func maxBytes(forLevel level: Int) -> Double {
        var bytes = Double(options.level1SizeBytes)
        var l = level
        while l > 1 {
            bytes *= Double(options.levelSizeMultiplier)
            l -= 1
        }
        return bytes
    }

    /// The level most in need of compaction and its score (>= 1 means compact now).
    func bestLevel(_ v: Version) -> (level: Int, score: Double) {
        var best = (level: 0, score: Double(v.files[0].count) / Double(options.l0CompactionTrigger))
        for level in 1..<(Version.levelCount - 1) {
            let score = Double(v.levelBytes(level)) / maxBytes(forLevel: level)
            if score > best.score { best = (level, score) }
        }
        return best
    }

    func needsCompaction(_ v: Version) -> Bool { bestLevel(v).score >= 1 }

    /// Picks the next automatic compaction, or nil. `busy` names files already compacting.
    func pick(_ v: Version, compactPointers: [[UInt8]], busy: Set<UInt64>) -> Compaction? {
        let (level, score) = bestLevel(v)
        guard score >= 1 else { return nil }
        var first: [FileMetaData]
        if level == 0 {
            first = v.files[0]
        } else {
            let files = v.files[level]
            let pointer = compactPointers[level]
            let start = pointer.isEmpty ? nil : files.first { InternalKey.compare($0.largest, pointer) > 0 }
            guard let chosen = start ?? files.first else { return nil }
            first = [chosen]
        }
        return expand(v, level: level, first: first, busy: busy)
    }

    /// Compaction of the files of `level` overlapping [start, end] (user keys), for manual runs.
    func pick(_ v: Version, level: Int, start: [UInt8]?, end: [UInt8]?, busy: Set<UInt64>) -> Compaction? {
        let files = v.overlapping(level: level, smallest: start?[...], largest: end?[...])
        guard !files.isEmpty else { return nil }
        return expand(v, level: level, first: level == 0 ? v.files[0] : files, busy: busy)
    }

    private func expand(_ v: Version, level: Int, first: [FileMetaData], busy: Set<UInt64>) -> Compaction? {
        guard !first.isEmpty else { return nil }
        let (smallest, largest) = Self.range(first)
        var inputs0 = first
        if level == 0 {
            // Level-0 files overlap each other: take every one that touches the range.
            inputs0 = v.overlapping(level: 0, smallest: smallest, largest: largest)
        }
        let (lo, hi) = Self.range(inputs0)
        let inputs1 = level + 1 < Version.levelCount ? v.overlapping(level: level + 1, smallest: lo, largest: hi) : []
        if (inputs0 + inputs1).contains(where: { busy.contains($0.number) }) { return nil }
        return Compaction(level: level, inputs: [inputs0, inputs1])
    }

    static func range(_ files: [FileMetaData]) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var smallest = files[0].smallestUserKey, largest = files[0].largestUserKey
        for f in files.dropFirst() {
            if Bytewise.compare(f.smallestUserKey, smallest) < 0 { smallest = f.smallestUserKey }
            if Bytewise.compare(f.largestUserKey, largest) > 0 { largest = f.largestUserKey }
        }
        return (smallest, largest)
    }
}
