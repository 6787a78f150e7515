/// What every source's protocol logic is: a pure state machine. Bytes or records go in with
/// the time they arrived, events come out. Sockets, serial ports, files and timers live in thin
/// adapters around it, which is what lets the same code run under golden tests, fuzzers,
/// `parse`/`replay` commands, benchmarks and the live agent.
public protocol SourceStateMachine {
    /// Feeds bytes exactly as the device sent them, in any fragmentation.
    mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent]
    /// Lets time-based rules fire (ring timeouts, silence) without input.
    mutating func tick(now: Timestamp) -> [CallEvent]
    /// The input ended (EOF, port closed): flush what is buffered.
    mutating func finish(now: Timestamp) -> [CallEvent]
}
