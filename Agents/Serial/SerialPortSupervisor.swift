#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// What a supervised port reports, in order. `opened` comes once, before any `bytes`; after a
/// `lost`, zero or more `openFailed` (one per distinct reason) precede `reopened`. The consumer
/// turns opened/lost/openFailed/reopened into `agent.status` events and must send any modem init
/// string again after `reopened`: the device that got the first one may have been power-cycled.
public enum SerialPortEvent: Equatable, Sendable {
    case opened(SerialPortOpened)
    case bytes([UInt8])
    case lost(SerialError)
    case openFailed(SerialError, retryInSeconds: Double)
    case reopened(SerialPortOpened)
}

extension SerialPortEvent {
    /// The `state` and `detail` of the `agent.status` event this deserves, so the SMDR and
    /// caller-ID agents word port trouble the same way; nil for `bytes`.
    public var agentStatus: (state: String, detail: String)? {
        switch self {
        case let .opened(port): ("portOpened", port.summary)
        case let .reopened(port): ("portReopened", port.summary)
        case let .lost(reason): ("portLost", reason.description)
        case let .openFailed(reason, retry): ("portUnavailable", "\(reason); retrying in \(retry) s")
        case .bytes: nil
        }
    }
}

public struct SerialPortOpened: Equatable, Sendable {
    public let path: String
    public let devicePath: String
    /// Config keys the driver did not keep; worth an `agent.status` warning when not empty.
    public let settingsNotKept: [String]

    public init(path: String, devicePath: String, settingsNotKept: [String]) {
        self.path = path
        self.devicePath = devicePath
        self.settingsNotKept = settingsNotKept
    }

    var summary: String {
        let device = devicePath == path ? path : "\(path) (\(devicePath))"
        guard !settingsNotKept.isEmpty else { return "opened \(device)" }
        return "opened \(device), but the driver did not keep \(settingsNotKept.joined(separator: ", "))"
    }
}

/// Keeps one serial port open for as long as its `events` are consumed. A dedicated thread
/// blocks in poll(2), never the Swift concurrency pool. When the device goes away it reports
/// `lost` and retries with a doubling delay capped by the settings. Cancelling the task that
/// iterates `events`, or calling `stop()`, ends the thread and closes the descriptor.
public final class SerialPortSupervisor: Sendable {
    public let settings: SerialSettings
    public let events: AsyncStream<SerialPortEvent>
    private let control: PortControl

    /// - Parameter pathCheckSeconds: how often to verify the configured path still leads to the
    ///   open device, for links that vanish or move without the descriptor hanging up.
    public init(settings: SerialSettings, pathCheckSeconds: Double = 1) throws(SerialError) {
        let control = try PortControl(path: settings.path)
        let (events, continuation) = AsyncStream.makeStream(of: SerialPortEvent.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in control.requestStop() }
        self.settings = settings
        self.events = events
        self.control = control
        let worker = PortWorker(
            settings: settings, control: control, continuation: continuation,
            pathCheck: .milliseconds(Int64(max(pathCheckSeconds, 0.01) * 1000)))
        let thread = Thread { worker.run() }
        thread.name = "serial \(settings.path)"
        thread.start()
    }

    /// Queues bytes for the open port (e.g. a modem init string) and returns at once; the port
    /// thread writes them as the driver accepts them. Bytes still queued when the port is lost are
    /// discarded with it, so write again after `reopened`.
    public func write(_ bytes: [UInt8]) throws(SerialError) {
        try control.enqueue(bytes)
    }

    public func stop() {
        control.requestStop()
    }
}

/// The state shared between callers and the port thread, plus a pipe that wakes the thread out
/// of poll(2) for a stop request or new output.
final class PortControl: Sendable {
    private struct State {
        var isOpen = false
        var stopRequested = false
        var outbox: [UInt8] = []
    }

    let path: String
    let wakeReader: Int32
    private let wakeWriter: Int32
    private let state = Mutex(State())

    init(path: String) throws(SerialError) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw .cannotOpen(path: path, errno: errno) }
        for end in ends {
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        self.path = path
        wakeReader = ends[0]
        wakeWriter = ends[1]
    }

    deinit {
        close(wakeReader)
        close(wakeWriter)
    }

    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    func requestStop() {
        state.withLock { $0.stopRequested = true }
        wake()
    }

    func enqueue(_ bytes: [UInt8]) throws(SerialError) {
        let accepted = state.withLock { state in
            guard state.isOpen, !state.stopRequested else { return false }
            state.outbox += bytes
            return true
        }
        guard accepted else { throw .notOpen(path: path) }
        wake()
    }

    func setOpen(_ isOpen: Bool) {
        state.withLock { state in
            state.isOpen = isOpen
            state.outbox.removeAll()
        }
    }

    /// nil once a stop was requested, otherwise whether output is waiting.
    func hasOutput() -> Bool? {
        state.withLock { $0.stopRequested ? nil : !$0.outbox.isEmpty }
    }

    func pendingOutput() -> [UInt8] { state.withLock { $0.outbox } }

    func markWritten(_ count: Int) { state.withLock { $0.outbox.removeFirst(count) } }

    /// Sleeps until the timeout or a wake-up, whichever comes first.
    func waitForWake(_ duration: Duration) {
        var wakeEvent = pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0)
        _ = poll(&wakeEvent, 1, milliseconds(duration))
        drainWakes()
    }

    func drainWakes() {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeReader, &sink, 64) > 0 {}
    }

    private func wake() {
        // A full pipe already holds a pending wake-up, so a failed write loses nothing.
        var signal: UInt8 = 1
        _ = write(wakeWriter, &signal, 1)
    }
}

/// The port thread's loop: open, pump until lost, wait, reopen.
private struct PortWorker: Sendable {
    let settings: SerialSettings
    let control: PortControl
    let continuation: AsyncStream<SerialPortEvent>.Continuation
    let pathCheck: Duration

    func run() {
        var hasOpened = false
        var delay = settings.reopenDelaySeconds
        var lastFailure: SerialError?
        while !control.stopRequested {
            let device: SerialDevice
            do {
                device = try SerialDevice(opening: settings)
            } catch {
                if error != lastFailure {
                    continuation.yield(.openFailed(error, retryInSeconds: delay))
                    lastFailure = error
                }
                control.waitForWake(.seconds(delay))
                delay = min(delay * 2, settings.reopenMaxDelaySeconds)
                continue
            }
            control.setOpen(true)
            let opened = SerialPortOpened(path: device.path, devicePath: device.devicePath, settingsNotKept: device.settingsNotKept)
            continuation.yield(hasOpened ? .reopened(opened) : .opened(opened))
            hasOpened = true
            delay = settings.reopenDelaySeconds
            lastFailure = nil
            let loss = pump(device)
            control.setOpen(false)
            device.close()
            guard let loss else { break }
            continuation.yield(.lost(loss))
            // A device that just hung up often still exists for a moment; reopening it at once
            // would only fail or hang up again.
            control.waitForWake(.seconds(delay))
        }
        continuation.finish()
    }

    /// Moves bytes until the device is lost (returns why) or a stop is requested (returns nil).
    private func pump(_ device: SerialDevice) -> SerialError? {
        let clock = ContinuousClock()
        var nextPathCheck = clock.now + pathCheck
        while let hasOutput = control.hasOutput() {
            var watched = [
                pollfd(fd: device.descriptor, events: Int16(POLLIN) | (hasOutput ? Int16(POLLOUT) : 0), revents: 0),
                pollfd(fd: control.wakeReader, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&watched, 2, milliseconds(max(.zero, nextPathCheck - clock.now)))
            if ready < 0 {
                if errno == EINTR { continue }
                return .readFailed(path: device.path, errno: errno)
            }
            if watched[1].revents != 0 { control.drainWakes() }
            let deviceEvents = Int32(watched[0].revents)
            let failureEvents = POLLHUP | POLLERR | POLLNVAL
            if deviceEvents & (POLLIN | failureEvents) != 0 {
                switch device.read() {
                case let .bytes(bytes): continuation.yield(.bytes(bytes))
                case .nothingYet: if deviceEvents & failureEvents != 0 { return .hungUp(path: device.path) }
                case let .lost(reason): return reason
                }
            }
            if deviceEvents & POLLOUT != 0 {
                do {
                    control.markWritten(try device.write(control.pendingOutput()[...]))
                } catch {
                    return error
                }
            }
            if clock.now >= nextPathCheck {
                if let problem = device.pathProblem() { return problem }
                nextPathCheck = clock.now + pathCheck
            }
        }
        return nil
    }
}

private func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: total)
}
