/// Which slot holds the call of a key.
///
/// Open addressing with linear probing over the keys' own hashes (`SMDRCallKey.hash`): the
/// Dictionary it replaces hashed the key with a freshly seeded SipHash on every look-up, insert
/// and removal, and held a second copy of the key's strings. Calls leave only in the tracker's
/// sweep, which rebuilds the index afterwards, so removal needs no tombstones.
struct SMDRCallIndex {
    /// Slot numbers, `-1` for an empty bucket; the count is a power of two, at most half used.
    private var buckets: [Int32] = Array(repeating: -1, count: 1024)
    private(set) var count = 0

    // The calls are read through their buffer: `calls[slot].key` is a copy of the whole call
    // (`Array`'s subscript returns one), every string in it retained and then released.

    func slot(of key: SMDRCallKey, in calls: [SMDRCall]) -> Int? {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: key.hash) & mask
        return calls.withUnsafeBufferPointer { calls in
            while true {
                let slot = Int(buckets[bucket])
                if slot < 0 { return nil }
                if calls[slot].key == key { return slot }
                bucket = (bucket + 1) & mask
            }
        }
    }

    /// Adds the call in `slot`, whose key is not in the index yet.
    mutating func insert(slot: Int, in calls: [SMDRCall]) {
        if (count + 1) * 2 > buckets.count {
            rebuild(from: calls)
        } else {
            place(slot, hash: calls.withUnsafeBufferPointer { $0[slot].key.hash })
            count += 1
        }
    }

    /// Indexes every call that is not vacant, with room to grow fourfold before the next rebuild.
    mutating func rebuild(from calls: [SMDRCall]) {
        calls.withUnsafeBufferPointer { calls in
            var live = 0
            for slot in calls.indices where !calls[slot].isVacant { live += 1 }
            var size = 1024
            while size < live * 4 { size *= 2 }
            buckets = Array(repeating: -1, count: size)
            for slot in calls.indices where !calls[slot].isVacant { place(slot, hash: calls[slot].key.hash) }
            count = live
        }
    }

    private mutating func place(_ slot: Int, hash: UInt64) {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while buckets[bucket] >= 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = Int32(truncatingIfNeeded: slot)
    }
}
