// INCR key, DECR key, INCRBY key n, DECRBY key n, each followed by the write quorum options
// (W, STRICT, TIMEOUT): the counter's value after the increment, as its coordinator reads
// it (SPEC section 5). Errors use Redis's texts: a non-integer n or stored value is
// `ERR value is not an integer or out of range`; a result beyond 64 bits (and DECRBY of
// Int64.min, which Redis refuses too) is `ERR increment or decrement would overflow`.
//
// INCRBYFLOAT is refused: a counter is a PN-counter of 64-bit integers, and a float sum
// would not be exact across replicas in any order.

extension ClientCommands {
    static let incrByFloatRefusal = "ERR INCRBYFLOAT is not supported: counters are exact 64-bit integers merged across replicas; use INCRBY with a scaled integer (for example cents)"

    func counterCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        if name == "INCRBYFLOAT" { return reply.reply(.error(ClientCommands.incrByFloatRefusal)) }
        let positional = name == "INCRBY" || name == "DECRBY" ? 2 : 1
        let split: (positional: ArraySlice<[UInt8]>, options: RequestOptions)
        do { split = try RequestOptions.split(args, positional: positional) } catch { return reply.reply(.error(error.message)) }
        guard split.positional.count == positional, let key = split.positional.first else { return reply.reply(wrongArity(name)) }
        if split.options.r != nil { return reply.reply(.error("ERR syntax R is not an option of \(name) (it writes; use W)")) }
        var delta: Int64 = name == "DECR" ? -1 : 1
        if positional == 2 {
            guard let n = RedisInteger.parse(split.positional[split.positional.startIndex + 1]) else {
                return reply.reply(.error("ERR value is not an integer or out of range"))
            }
            if name == "DECRBY" {
                guard n != Int64.min else { return reply.reply(.error("ERR decrement would overflow")) }
                delta = -n
            } else {
                delta = n
            }
        }
        engine.increment(namespace: context.namespace, key: key, by: delta, options: split.options) { result in
            switch result {
            case .success(let v): reply.reply(.integer(v))
            case .failure(let e): reply.reply(.error(e.line))
            }
        }
    }
}
