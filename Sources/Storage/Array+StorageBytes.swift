// Two [UInt8] helpers the engine's hot paths share; the byte encodings themselves are in
// the Bytes module (Array+ByteWriting.swift, UnsafeByteReader.swift).

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for bodies with typed `StorageError` throws.
    @inlinable
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        var result: Result<R, StorageError>?
        withUnsafeBytes { buf in
            do throws(StorageError) { result = .success(try body(buf)) } catch { result = .failure(error) }
        }
        guard let result else { preconditionFailure("withUnsafeBytes did not call its body") }
        return try result.get()
    }
}

extension Array where Element == UInt8 {
    /// Makes the array hold `bytes`, in place when the size is unchanged (no allocation,
    /// no generic range replacement on the per-entry paths).
    @inline(__always)
    mutating func assign(_ bytes: UnsafeRawBufferPointer) {
        if count == bytes.count {
            if let src = bytes.baseAddress { withUnsafeMutableBytes { $0.baseAddress.unsafelyUnwrapped.copyMemory(from: src, byteCount: bytes.count) } }
        } else {
            removeAll(keepingCapacity: true)
            append(contentsOf: bytes)
        }
    }
}
