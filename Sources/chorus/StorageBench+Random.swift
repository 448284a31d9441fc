// db_bench's random numbers and values, bit for bit, so Chorus and the LevelDB reference
// (bench/leveldb_bench.cc) write the same keys and values in the same order.

extension StorageBench {
    /// LevelDB's `util/random.h`: Park-Miller minimal standard generator (16807 mod 2^31-1).
    struct Random {
        private var seed: UInt32

        init(_ s: UInt32) {
            seed = s & 0x7fff_ffff
            if seed == 0 || seed == 2_147_483_647 { seed = 1 }
        }

        @inline(__always) mutating func next() -> UInt32 {
            let m: UInt64 = 2_147_483_647
            let product = UInt64(seed) &* 16807
            var s = UInt32(truncatingIfNeeded: (product >> 31) &+ (product & m))
            if s > UInt32(m) { s &-= UInt32(m) }
            seed = s
            return s
        }

        /// Uniform in 0..<n (n > 0), as `Random::Uniform`.
        @inline(__always) mutating func uniform(_ n: Int) -> Int {
            Int(next() % UInt32(n))
        }
    }

    /// db_bench's `RandomGenerator`: 1 MiB of compressible-ish text (each 100-byte piece is a
    /// random run of printable bytes repeated to reach `compressionRatio`), handed out in
    /// consecutive windows that wrap around.
    struct ValueGenerator {
        let data: [UInt8]
        private var position = 0

        init(compressionRatio: Double) {
            var rnd = Random(301)
            var data: [UInt8] = []
            data.reserveCapacity(1 << 20 + 100)
            var piece: [UInt8] = []
            while data.count < 1 << 20 {
                // test::CompressibleString(&rnd, ratio, 100, &piece)
                let raw = max(1, Int(100.0 * compressionRatio))
                var rawData = [UInt8](repeating: 0, count: raw)
                for i in 0..<raw { rawData[i] = UInt8(32 + rnd.uniform(95)) }
                piece.removeAll(keepingCapacity: true)
                while piece.count < 100 { piece.append(contentsOf: rawData) }
                data.append(contentsOf: piece[0..<100])
            }
            self.data = data
        }

        mutating func reset() { position = 0 }

        /// The range of `data` holding the next `length` bytes (length < data.count).
        @inline(__always) mutating func generate(_ length: Int) -> Range<Int> {
            if position + length > data.count { position = 0 }
            position += length
            return (position - length)..<position
        }
    }
}
