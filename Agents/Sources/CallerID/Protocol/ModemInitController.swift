/// Keeps a caller-ID modem in caller-ID mode. A modem forgets `AT+VCID=1` when it resets, and
/// then rings arrive without caller ID and nobody notices (PAINPOINTS.md 28). The init string
/// is therefore sent when the port opens, and again when the input suggests a reset: an `OK`
/// nobody asked for, or a call that rang `callerIDWaitRings` times without any caller ID.
struct ModemInitController: Sendable {
    struct Status: Sendable {
        var state: String
        var detail: String
    }

    let initString: String
    let isModem: Bool
    private var awaitingResponse = false
    private var pending: [UInt8] = []

    init(initString: String, isModem: Bool) {
        self.initString = initString
        self.isModem = isModem && !initString.isEmpty
    }

    mutating func portOpened() -> [UInt8] {
        guard isModem else { return [] }
        pending = []
        awaitingResponse = true
        return command
    }

    mutating func takeBytesToWrite() -> [UInt8] {
        defer { pending = [] }
        return pending
    }

    mutating func resultCode(ok: Bool) -> Status? {
        guard isModem else { return nil }
        if awaitingResponse {
            awaitingResponse = false
            return ok ? nil : Status(
                state: "modemInitRejected",
                detail: "the modem answered ERROR to \(initString); caller ID stays off until the init string is fixed for this modem")
        }
        guard ok else { return Status(state: "modemError", detail: "the modem printed ERROR without a command from the agent") }
        resend()
        return Status(state: "modemReinit", detail: "unsolicited OK, the modem may have been reset: re-sent \(initString)")
    }

    mutating func callerIDMissing(afterRings rings: Int) -> Status? {
        guard isModem else { return nil }
        resend()
        return Status(
            state: "modemReinit",
            detail: "\(rings) rings without caller ID, the modem may have lost caller-ID mode: re-sent \(initString)")
    }

    private mutating func resend() {
        awaitingResponse = true
        pending = command
    }

    private var command: [UInt8] { Array((initString + "\r").utf8) }
}
