// Encodes RESP2 and RESP3 replies (and commands, for the client) by appending to a byte
// buffer. The server appends replies straight into a connection's output buffer, so one
// write() carries every reply of a pipelined batch. The RESP3 types and their RESP2 forms
// are in RESPWriter+RESP3.swift.

#if canImport(Glibc)
import Glibc
#endif

/// Appends RESP encodings to a `[UInt8]`; no Strings on the bulk/integer paths.
public enum RESPWriter {
    /// Appends the RESP2 encoding of `value` (RESP3-only types in their RESP2 form).
    public static func append(_ value: RESPValue, to out: inout [UInt8]) {
        append(value, to: &out, protocol: .resp2)
    }

    /// The RESP2 encoding of `value` as a new array.
    public static func encode(_ value: RESPValue) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out, protocol: .resp2)
        return out
    }

    /// The encoding of `value` in `version` as a new array.
    public static func encode(_ value: RESPValue, protocol version: RESPProtocolVersion) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out, protocol: version)
        return out
    }

    /// Appends `+text\r\n`; CR and LF inside `text` become spaces (a status line is one line).
    public static func appendSimple(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "+"))
        appendLine(text, to: &out)
    }

    /// Appends `-text\r\n`; CR and LF inside `text` become spaces.
    public static func appendError(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "-"))
        appendLine(text, to: &out)
    }

    /// Appends `+OK\r\n`.
    @inlinable
    public static func appendOK(to out: inout [UInt8]) {
        out.append(contentsOf: [0x2B, 0x4F, 0x4B, 0x0D, 0x0A] as [UInt8])
    }

    /// Appends `:n\r\n`.
    @inlinable
    public static func appendInteger(_ n: Int64, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ":"))
        appendDecimal(n, to: &out)
        appendCRLF(to: &out)
    }

    /// Appends `$len\r\nbytes\r\n`.
    @inlinable
    public static func appendBulk(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(Int64(bytes.count), to: &out)
        appendCRLF(to: &out)
        out.append(contentsOf: bytes)
        appendCRLF(to: &out)
    }

    /// Appends `$len\r\nbytes\r\n` from raw bytes (no intermediate array).
    @inlinable
    public static func appendBulk(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "$"))
        appendDecimal(Int64(bytes.count), to: &out)
        appendCRLF(to: &out)
        out.append(contentsOf: bytes)
        appendCRLF(to: &out)
    }

    /// Appends `$-1\r\n`.
    @inlinable
    public static func appendNullBulk(to out: inout [UInt8]) {
        out.append(contentsOf: [0x24, 0x2D, 0x31, 0x0D, 0x0A] as [UInt8])
    }

    /// Appends `*n\r\n`; the caller appends the n elements.
    @inlinable
    public static func appendArrayHeader(_ count: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        appendDecimal(Int64(count), to: &out)
        appendCRLF(to: &out)
    }

    /// Appends `*-1\r\n`.
    @inlinable
    public static func appendNullArray(to out: inout [UInt8]) {
        out.append(contentsOf: [0x2A, 0x2D, 0x31, 0x0D, 0x0A] as [UInt8])
    }

    /// Appends a command as an array of bulk strings (what clients send).
    public static func appendCommand(_ arguments: [[UInt8]], to out: inout [UInt8]) {
        appendArrayHeader(arguments.count, to: &out)
        for argument in arguments { appendBulk(argument, to: &out) }
    }

    @inlinable
    static func appendCRLF(to out: inout [UInt8]) {
        out.append(0x0D)
        out.append(0x0A)
    }

    /// Decimal digits of `n` without going through String: digits are produced backwards
    /// into a 20-byte stack buffer and appended once.
    @inlinable
    public static func appendDecimal(_ n: Int64, to out: inout [UInt8]) {
        if n >= 0 && n < 10 {
            out.append(UInt8(truncatingIfNeeded: n) &+ 0x30)
            return
        }
        // Magnitude as UInt64 so Int64.min does not overflow.
        var magnitude = n < 0 ? UInt64(bitPattern: 0 &- n) : UInt64(n)
        if n == Int64.min { magnitude = UInt64(1) << 63 }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
            } while magnitude != 0
            if n < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    static func appendLine(_ text: String, to out: inout [UInt8]) {
        var text = text
        // Native strings are contiguous UTF-8: copy in one go unless a line break needs fixing.
        text.withUTF8 { bytes in
            let start = out.count
            out.append(contentsOf: bytes)
            guard let base = bytes.baseAddress else { return }
            if memchr(base, 0x0D, bytes.count) != nil || memchr(base, 0x0A, bytes.count) != nil {
                for i in start..<out.count where out[i] == 0x0D || out[i] == 0x0A { out[i] = 0x20 }
            }
        }
        appendCRLF(to: &out)
    }
}
