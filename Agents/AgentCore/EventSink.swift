import Foundation
import GRDB
import Logging
import Synchronization
import TamasEvents
import TamasLink

/// The device state an agent reports: in heartbeats (shown by `tamasctl agents`) and, on every
/// change, as an `agent.status` event so the call log can explain its own gaps.
public actor DeviceStatus {
    public struct Current: Sendable, Equatable {
        public var state: String
        public var detail: String
    }

    public private(set) var current = Current(state: "starting", detail: "")
    /// Epoch milliseconds of the last input from the device, 0 before the first. An atomic rather
    /// than actor state: sources note every read, far more often than the heartbeat looks.
    private nonisolated let lastInputMillis = Atomic<Int64>(0)

    public init() {}

    /// Called by a source whenever bytes, a message or a file arrive from its device.
    public nonisolated func noteInput(at time: Timestamp = Timestamp(date: Date())) {
        lastInputMillis.store(time.epochMillis, ordering: .relaxed)
    }

    public nonisolated var lastInputAt: Timestamp? {
        let millis = lastInputMillis.load(ordering: .relaxed)
        return millis == 0 ? nil : Timestamp(epochMillis: millis)
    }

    /// Returns true when the state or detail changed.
    func update(state: String, detail: String) -> Bool {
        let next = Current(state: state, detail: detail)
        guard next != current else { return false }
        current = next
        return true
    }
}

/// Where a source puts its events: validated, encoded once, committed to the spool. When the
/// spool is full the source is held back here (and the agent says so in logs, heartbeats and an
/// `agent.status` event) rather than anything being dropped.
public struct EventSink: Sendable {
    public let systemKey: String
    public let source: String
    let spool: Spool
    let status: DeviceStatus
    let logger: Logger
    private let json = EventJSON()

    public init(systemKey: String, source: String, spool: Spool, status: DeviceStatus, logger: Logger) {
        self.systemKey = systemKey
        self.source = source
        self.spool = spool
        self.status = status
        self.logger = logger
    }

    /// What the source committed last with `emit(_:sourceState:)` before this process started:
    /// a source whose state machine holds input it has not turned into events yet saves that
    /// input this way and reads it again after a crash or restart.
    public func savedSourceState() async throws -> String? {
        try await spool.sourceState()
    }

    /// Marks that the device just delivered something (shown as the agent's `lastInputAt`).
    public func noteInput() {
        status.noteInput()
    }

    public func emit(_ events: [CallEvent]) async throws {
        try await emit(events, sourceState: nil)
    }

    /// Spools `events`; `sourceState`, when given, is committed with them (see `savedSourceState`).
    /// A full spool, or one the disk cannot take more of, holds the source back here until it
    /// can: nothing is dropped, and the agent does not exit and lose what its device sends
    /// meanwhile (a serial line's bytes, an AMI stream).
    public func emit(_ events: [CallEvent], sourceState: String?) async throws {
        guard !events.isEmpty || sourceState != nil else { return }
        let bodies = try events.map { try json.encode($0) }
        var announcedFull = false
        var unwritableSince: Date?
        while true {
            do {
                if try await spool.append(bodies, sourceState: sourceState) { break }
            } catch let error as DatabaseError where SpoolWriteFailure.isTemporary(error) {
                if unwritableSince == nil {
                    unwritableSince = Date()
                    logger.error("cannot write the spool: holding the source back and retrying every second",
                                 metadata: ["spool": "\(spool.settings.path)", "error": "\(SpoolWriteFailure.describe(error))"])
                    await report(state: "spoolUnwritable",
                                 detail: "\(SpoolWriteFailure.describe(error)); input is held back, nothing is dropped")
                }
                try await Task.sleep(for: .seconds(1))
                continue
            }
            if !announcedFull {
                announcedFull = true
                let capacity = spool.settings.capacity
                logger.error("spool full: holding the source back until the collector catches up",
                             metadata: ["capacity": "\(capacity)", "spool": "\(spool.settings.path)"])
                await report(state: "spoolFull", detail: "spool holds \(capacity) unsent events; input is held back, nothing is dropped")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        if let unwritableSince {
            let seconds = Int(Date().timeIntervalSince(unwritableSince).rounded())
            logger.notice("spool writable again; input resumed", metadata: ["heldBackSeconds": "\(seconds)"])
            await report(state: "spoolOk", detail: "the spool could not be written for \(seconds) s; input was held back meanwhile and resumed")
        } else if announcedFull {
            logger.notice("spool has room again; input resumed")
            await report(state: "spoolOk", detail: "input resumed")
        }
    }

    /// Records a device or agent state change as an `agent.status` event (always accepted, even
    /// when the spool is full) and in the heartbeat; repeated identical reports are folded.
    /// The detail is part of the event id: two refusals of the same kind reported within one
    /// millisecond (a resync's actions refused together) are two events, not one and a duplicate.
    ///
    /// When the spool cannot be written (a full disk) the state still reaches the heartbeat, and
    /// the event is left out: the spool reports the episode itself once it can be written again.
    public func report(state: String, detail: String, at: Timestamp = HostClock.now()) async {
        guard await status.update(state: state, detail: detail) else { return }
        logger.info("status", metadata: ["state": "\(state)", "detail": "\(detail)"])
        let event = CallEvent(
            eventId: StableID.make(systemKey, source, "agent.status", state, detail, String(at.epochMillis)),
            type: .agentStatus, systemKey: systemKey, source: source, at: at, state: state, detail: detail)
        do {
            try await spool.append([try json.encode(event)], overCapacity: true)
        } catch {
            logger.warning("status event not spooled", metadata: ["state": "\(state)", "error": "\(error)"])
        }
    }
}

/// Which spool write failures a wait can cure: the disk or its quota is full, the file system
/// went read-only or failed an I/O for a while. Anything else (a corrupt file) still ends the agent.
enum SpoolWriteFailure {
    static func isTemporary(_ error: DatabaseError) -> Bool {
        [.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode)
    }

    static func describe(_ error: DatabaseError) -> String {
        switch error.resultCode {
        case .SQLITE_FULL: "the disk holding the spool is full"
        case .SQLITE_READONLY: "the spool's file system is read-only"
        default: "the spool cannot be written (\(error.message ?? "\(error.resultCode)"))"
        }
    }
}
