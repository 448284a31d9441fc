// Splitting of inline commands (`SET k "a b"\r\n`, as typed into telnet), following Redis's
// sdssplitargs: whitespace separates arguments; double quotes allow \n \r \t \b \a \\ \" and
// \xHH escapes; single quotes allow \'; a closing quote must be followed by a space or the end.

/// Splits one inline command line into arguments.
enum RESPInline {
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C || c == 0
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    static func split(_ line: UnsafeBufferPointer<UInt8>) throws(RESPProtocolError) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var i = 0
        let n = line.count
        while true {
            while i < n && isSpace(line[i]) { i += 1 }
            if i == n { return words }
            var current: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                if inDouble {
                    guard i < n else { throw .unbalancedQuotes }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 3 < n && line[i + 1] == UInt8(ascii: "x"),
                       let hi = hexValue(line[i + 2]), let lo = hexValue(line[i + 3]) {
                        current.append(hi << 4 | lo)
                        i += 3
                    } else if c == UInt8(ascii: "\\") && i + 1 < n {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): current.append(0x0A)
                        case UInt8(ascii: "r"): current.append(0x0D)
                        case UInt8(ascii: "t"): current.append(0x09)
                        case UInt8(ascii: "b"): current.append(0x08)
                        case UInt8(ascii: "a"): current.append(0x07)
                        default: current.append(line[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        // The closing quote must end the argument.
                        if i + 1 < n && !isSpace(line[i + 1]) { throw .unbalancedQuotes }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else if inSingle {
                    guard i < n else { throw .unbalancedQuotes }
                    let c = line[i]
                    if c == UInt8(ascii: "\\") && i + 1 < n && line[i + 1] == UInt8(ascii: "'") {
                        i += 1
                        current.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n && !isSpace(line[i + 1]) { throw .unbalancedQuotes }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else {
                    if i == n { break }
                    let c = line[i]
                    if isSpace(c) {
                        done = true
                    } else if c == UInt8(ascii: "\"") {
                        inDouble = true
                    } else if c == UInt8(ascii: "'") {
                        inSingle = true
                    } else {
                        current.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            words.append(current)
        }
    }
}
