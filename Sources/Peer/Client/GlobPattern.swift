// Redis glob matching for SCAN MATCH and KEYS (Redis's `stringmatchlen`, case-sensitive):
//
//   *        any run of bytes, also empty
//   ?        exactly one byte
//   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range (reversed ends
//            are swapped: [z-a] = [a-z]); \x inside brackets is the byte x
//   \x       the byte x itself
//
// Edge behaviour copied from Redis so patterns mean the same thing on both:
// - an unclosed `[` set runs to the end of the pattern ("[ab" matches "a");
// - a trailing lone `\` matches a backslash;
// - a `-` range takes whatever byte follows, even the closing bracket: "[a-]" is the
//   range ']'..'a' (ends swapped) with the set left unclosed, so it matches '^', not '-';
// - `[]` never matches, as the set ends at once and is empty;
// - nesting of `*` deeper than 1000 stars is treated as no match (Redis's guard against
//   abusive patterns). Runs of stars collapse to one, and once the rest of the pattern
//   failed at every later offset, longer matches for earlier stars are not tried (Redis's
//   fix for CVE-2022-36021), so matching is polynomial.
//
// Bytes, never `String`: keys and patterns are binary.

/// A compiled Redis glob pattern.
public struct GlobPattern: Sendable, Equatable {
    public let bytes: [UInt8]
    /// The pattern is only stars: every key matches (the common `*` costs nothing).
    public let matchesEverything: Bool

    public static let maxNesting = 1000

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        matchesEverything = !bytes.isEmpty && bytes.allSatisfy { $0 == UInt8(ascii: "*") }
    }

    public init(_ text: String) { self.init(Array(text.utf8)) }

    /// True when `key` matches the whole pattern.
    public func matches(_ key: [UInt8]) -> Bool {
        if matchesEverything && !key.isEmpty { return true }
        var skipLonger = false
        return bytes.withUnsafeBufferPointer { p in
            key.withUnsafeBufferPointer { s in
                GlobPattern.match(p, 0, s, 0, skipLonger: &skipLonger, nesting: 0)
            }
        }
    }

    private static let star = UInt8(ascii: "*")
    private static let question = UInt8(ascii: "?")
    private static let open = UInt8(ascii: "[")
    private static let close = UInt8(ascii: "]")
    private static let caret = UInt8(ascii: "^")
    private static let dash = UInt8(ascii: "-")
    private static let backslash = UInt8(ascii: "\\")

    /// Matches pattern bytes `p[pi...]` against string bytes `s[si...]`. Reads past the end
    /// of the pattern see 0, as Redis's NUL-terminated strings do; only `s[si]` with
    /// `si < s.count` is ever read from the string.
    private static func match(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ s: UnsafeBufferPointer<UInt8>, _ sStart: Int,
                              skipLonger: inout Bool, nesting: Int) -> Bool {
        if nesting > maxNesting { return false }
        @inline(__always) func at(_ i: Int) -> UInt8 { i < p.count ? p[i] : 0 }
        var pi = start, si = sStart
        while pi < p.count && si < s.count {
            switch p[pi] {
            case star:
                while pi + 1 < p.count && p[pi + 1] == star { pi += 1 }
                if pi + 1 == p.count { return true }
                while si < s.count {
                    if match(p, pi + 1, s, si, skipLonger: &skipLonger, nesting: nesting + 1) { return true }
                    if skipLonger { return false }
                    si += 1
                }
                // The rest failed from every offset: no longer match of an earlier star can help.
                skipLonger = true
                return false
            case question:
                si += 1
            case open:
                pi += 1
                let negate = pi < p.count && p[pi] == caret
                if negate { pi += 1 }
                var found = false
                let c = s[si]
                while true {
                    let remaining = p.count - pi
                    if remaining >= 2 && p[pi] == backslash {
                        pi += 1
                        if p[pi] == c { found = true }
                    } else if remaining <= 0 {
                        // Unclosed set: step back so the outer advance lands on the end.
                        pi -= 1
                        break
                    } else if p[pi] == close {
                        break
                    } else if remaining >= 3 && p[pi + 1] == dash {
                        var lo = p[pi], hi = p[pi + 2]
                        if lo > hi { swap(&lo, &hi) }
                        pi += 2
                        if c >= lo && c <= hi { found = true }
                    } else if p[pi] == c {
                        found = true
                    }
                    pi += 1
                }
                if negate { found.toggle() }
                if !found { return false }
                si += 1
            case backslash:
                if p.count - pi >= 2 { pi += 1 }
                if p[pi] != s[si] { return false }
                si += 1
            default:
                if p[pi] != s[si] { return false }
                si += 1
            }
            pi += 1
            if si == s.count {
                while pi < p.count && at(pi) == star { pi += 1 }
                break
            }
        }
        return pi >= p.count && si == s.count
    }
}
