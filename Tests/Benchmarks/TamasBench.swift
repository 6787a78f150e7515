import AgentCore
import ArgumentParser
import CollectorCore
import Foundation
import GRDB
import GRDBSQLite
import Logging
import NIOSSL
import Spawn
import TamasEvents
import TamasLink

@main
struct TamasBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tamas-bench",
        abstract: "Benchmarks of the backbone (not tests): throughput and memory, each beside a baseline measured in the same run.",
        discussion: "Build in release mode first: swift build -c release --product tamas-bench. Results go in docs/performance.md.",
        subcommands: [Link.self, Memory.self, CRMDeliveryBench.self])
}

/// Events that look like real traffic: a ringing, an answer and an end per call.
func sampleBodies(count: Int) throws -> [Data] {
    let json = EventJSON()
    let start = Timestamp(iso8601: "2026-11-26T08:00:00+03:30")!
    return try (0..<count).map { index in
        let call = index / 3
        let at = start.adding(seconds: call)
        var event = CallEvent(eventId: "bench-\(index)", type: [.callRinging, .callAnswered, .callEnded][index % 3],
                              systemKey: "bench", source: "jsonl", at: at, raw: "11/26/26 08:00 201 01 <I> 09121234567",
                              callId: "call-\(call)", direction: .inbound, from: "+98912\(String(format: "%07d", call % 10_000_000))",
                              to: "200", extension: "201", line: "01", extensions: ["201", "202", "203"])
        if event.type == .callAnswered { event.answeredBy = "202" }
        if event.type == .callEnded {
            event.disposition = .answered
            event.startedAt = at
            event.answeredAt = at.adding(seconds: 5)
            event.endedAt = at.adding(seconds: 65)
            event.durationSec = 60
        }
        return try json.encode(event)
    }
}

struct Link: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Events/s from an agent spool to durable collector commit over TLS on loopback, beside raw SQLite batched inserts of the same rows.")

    @Option(help: "Events to send.") var events = 200_000
    @Option(help: "Events per batch (agent side) and per transaction (baseline).") var batch = 500
    @Option(help: "Unacknowledged batches the agent keeps in flight.") var inFlight = Uplink.Options().maxBatchesInFlight

    func run() async throws {
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bodies = try sampleBodies(count: events)

        let baseline = try rawSQLiteRate(bodies: bodies, path: folder.appendingPathComponent("raw.sqlite").path)
        let link = try await linkRate(bodies: bodies, folder: folder)
        print(String(format: "events: %d, batch: %d, average event: %d bytes", events, batch, bodies.map(\.count).reduce(0, +) / max(events, 1)))
        print(String(format: "raw SQLite batched insert (WAL, synchronous=FULL): %10.0f events/s, %5.1f µs CPU/event",
                     baseline.eventsPerSecond, baseline.cpuMicrosPerEvent))
        print(String(format: "agent spool -> TLS -> collector commit + ack:      %10.0f events/s, %5.1f µs CPU/event (both ends)",
                     link.eventsPerSecond, link.cpuMicrosPerEvent))
        print(String(format: "ratio link / raw SQLite: %.2f", link.eventsPerSecond / baseline.eventsPerSecond))
    }

    /// The same rows into the collector's events table (same columns and indexes), bound through
    /// SQLite's C API with one prepared statement, one transaction per batch: what SQLite itself
    /// can do with these rows on this disk, with no decoding, no calls and no network.
    func rawSQLiteRate(bodies: [Data], path: String) throws -> Throughput {
        let decoder = EventJSON()
        let rows = try bodies.map { body in (event: try decoder.decode(body), body: body) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE events (id INTEGER PRIMARY KEY, system_key TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL,
                    call_id TEXT, at_ms INTEGER NOT NULL, agent_id TEXT NOT NULL, received_at_ms INTEGER NOT NULL, body BLOB NOT NULL,
                    UNIQUE (system_key, event_id));
                CREATE INDEX events_call ON events (system_key, call_id);
                """)
        }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String?) {
            guard var text else { sqlite3_bind_null(statement, index); return }
            text.withUTF8 { bytes in
                _ = bytes.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), transient) }
            }
        }
        let start = Throughput.Start()
        for chunkStart in stride(from: 0, to: rows.count, by: batch) {
            try pool.write { db in
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO events (system_key, event_id, type, call_id, at_ms, agent_id, received_at_ms, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """).sqliteStatement
                for (event, body) in rows[chunkStart..<min(chunkStart + batch, rows.count)] {
                    bind(statement, 1, event.systemKey)
                    bind(statement, 2, event.eventId)
                    bind(statement, 3, event.type.rawValue)
                    bind(statement, 4, event.callId)
                    sqlite3_bind_int64(statement, 5, event.at.epochMillis)
                    bind(statement, 6, "agent")
                    sqlite3_bind_int64(statement, 7, 0)
                    _ = body.withUnsafeBytes { sqlite3_bind_blob(statement, 8, $0.baseAddress, Int32($0.count), transient) }
                    guard sqlite3_step(statement) == SQLITE_DONE else {
                        throw ValidationError("baseline insert failed: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
                    }
                    sqlite3_reset(statement)
                }
            }
        }
        return start.finish(events: rows.count)
    }

    func linkRate(bodies: [Data], folder: URL) async throws -> Throughput {
        let store = try CollectorStore(path: folder.appendingPathComponent("collector.sqlite").path)
        let identity = try LinkTLS.makeSelfSigned(commonName: "bench", hosts: ["127.0.0.1"])
        let certificate = folder.appendingPathComponent("collector.crt").path
        let key = folder.appendingPathComponent("collector.key").path
        try identity.certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try Secrets.writePrivateFile(identity.privateKeyPEM, to: key)
        let metrics = CollectorMetrics()
        let registry = AgentRegistry(metrics: metrics)
        var options = IngestServer.Options()
        options.host = "127.0.0.1"
        options.port = 0
        let server = IngestServer(store: store, registry: registry, metrics: metrics,
                                  tls: try LinkTLS.serverContext(certificateFile: certificate, privateKeyFile: key, clientCAFile: nil),
                                  options: options, collectorVersion: "bench", logger: Logger(label: "bench"))
        let enrollment = try await store.enroll(name: "bench", systemKeys: ["bench"])
        let spool = try await Spool.open(SpoolSettings(path: folder.appendingPathComponent("spool.sqlite").path, capacity: bodies.count + 10))
        for chunkStart in stride(from: 0, to: bodies.count, by: 5000) {
            try await spool.append(Array(bodies[chunkStart..<min(chunkStart + 5000, bodies.count)]))
        }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let serverTask = Task { try await server.run { portSink.yield($0) } }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw ValidationError("the collector did not start") }
        var uplinkOptions = Uplink.Options()
        uplinkOptions.batchSize = batch
        uplinkOptions.maxBatchesInFlight = inFlight
        let uplink = try Uplink(
            collector: AgentConfig.Collector(host: "127.0.0.1", port: port, agentId: enrollment.agent.id, secret: enrollment.secret,
                                             trust: .pinned(fingerprint: try LinkTLS.fingerprint(pem: identity.certificatePEM))),
            identity: AgentIdentity(kind: "bench", version: "bench", systemKeys: ["bench"]), spool: spool, status: DeviceStatus(),
            commands: [], options: uplinkOptions, logger: Logger(label: "bench"))
        let start = Throughput.Start()
        FileHandle.standardError.write(Data("spool filled, streaming\n".utf8))
        let uplinkTask = Task { await uplink.run() }
        while await spool.count > 0 { try await Task.sleep(for: .milliseconds(5)) }
        let measured = start.finish(events: bodies.count)
        uplinkTask.cancel()
        serverTask.cancel()
        let stored = try await store.counts().events
        guard stored == bodies.count else { throw ValidationError("collector holds \(stored) events, expected \(bodies.count)") }
        return measured
    }
}

/// Wall-clock rate beside the CPU the whole process spent per event: on this shared machine
/// the rate moves with other people's load, the CPU per event much less.
struct Throughput {
    var eventsPerSecond: Double
    var cpuMicrosPerEvent: Double

    struct Start {
        let wall = ContinuousClock.now
        let cpu = Throughput.processCPUSeconds()

        func finish(events: Int) -> Throughput {
            let seconds = (ContinuousClock.now - wall).seconds
            let cpuSeconds = Throughput.processCPUSeconds() - cpu
            return Throughput(eventsPerSecond: Double(events) / seconds, cpuMicrosPerEvent: cpuSeconds * 1e6 / Double(max(events, 1)))
        }
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

struct Memory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Peak RSS of idle agent processes (JSONL, and SMDR on a pseudo-terminal) and of the collector process with N connected agents.")

    @Option(help: "Agents to connect to the collector.") var agents = 100

    func run() async throws {
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-bench-mem-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let port = 17_000 + Int.random(in: 0..<1000)
        let httpPort = port + 1000
        let collector = try SpawnedProcess(
            executable: binaries.appendingPathComponent("tamas-collector").path,
            arguments: ["run", "--data-dir", folder.appendingPathComponent("collector").path,
                        "--listen", "127.0.0.1:\(port)", "--http", "127.0.0.1:\(httpPort)", "--log-level", "error"],
            standardError: FileHandle.nullDevice.fileDescriptor)
        defer { collector.signal(SIGTERM) }
        try await Task.sleep(for: .seconds(2))
        let home = try CollectorHome(folder: folder.appendingPathComponent("collector").path)
        let store = try CollectorStore(path: home.databasePath)
        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOfFile: home.certificatePath, encoding: .utf8))
        let collectorIdle = peakRSS(collector.pid)

        let agentBinary = binaries.appendingPathComponent("tamas-agent")
        let feed = folder.appendingPathComponent("idle.jsonl")
        guard FileManager.default.createFile(atPath: feed.path, contents: nil) else { throw ValidationError("cannot create \(feed.path)") }
        let idleAgent = try await startIdleAgent(name: "idle", kind: "jsonl", source: "jsonl:\n  input: \(feed.path)\n  follow: true\n",
                                                 executable: agentBinary, folder: folder, store: store, port: port, fingerprint: fingerprint)
        defer { idleAgent.signal(SIGTERM) }
        let terminal = try startTerminalHolder()
        defer {
            try? terminal.input.fileHandleForWriting.close()
            try? terminal.output.fileHandleForReading.close()
            terminal.process.signal(SIGTERM)
        }
        let smdrSource = "smdr:\n  model: KX-TDE100\n  dateFormat: dd/mm/yy\n  timeZone: Asia/Tehran\n  serial:\n    port: \(terminal.path)\n"
        let smdrAgent = try await startIdleAgent(name: "idle-smdr", kind: "smdr", source: smdrSource, executable: agentBinary,
                                                 folder: folder, store: store, port: port, fingerprint: fingerprint)
        defer { smdrAgent.signal(SIGTERM) }
        try await Task.sleep(for: .seconds(5))
        let agentPeak = peakRSS(idleAgent.pid)
        let agentParts = rssParts(idleAgent.pid)
        let smdrAgentPeak = peakRSS(smdrAgent.pid)
        let agentLinksSwiftDynamically = mapsSwiftRuntimeLibrary(idleAgent.pid)

        var uplinks: [Task<Void, Never>] = []
        for index in 0..<agents {
            let enrollment = try await store.enroll(name: "mem-\(index)", systemKeys: ["mem"])
            let spool = try await Spool.open(SpoolSettings(path: folder.appendingPathComponent("spool-\(index).sqlite").path))
            let uplink = try Uplink(
                collector: AgentConfig.Collector(host: "127.0.0.1", port: port, agentId: enrollment.agent.id, secret: enrollment.secret,
                                                 trust: .pinned(fingerprint: fingerprint)),
                identity: AgentIdentity(kind: "bench", version: "bench", systemKeys: ["mem"]), spool: spool, status: DeviceStatus(),
                commands: [], logger: Logger(label: "bench"))
            uplinks.append(Task { await uplink.run() })
        }
        try await Task.sleep(for: .seconds(10))
        let collectorPeak = peakRSS(collector.pid)
        uplinks.forEach { $0.cancel() }
        print("idle agent (jsonl, following an empty file), peak RSS: \(agentPeak / 1024) MB (\(agentPeak) kB); \(agentParts)")
        print("idle agent (smdr, serial port on a pseudo-terminal, Asia/Tehran), peak RSS: \(smdrAgentPeak / 1024) MB (\(smdrAgentPeak) kB)")
        if agentLinksSwiftDynamically {
            print("note: this tamas-agent loads the Swift runtime as shared libraries; release agents are built by "
                + "deploy/build-release.sh (--static-swift-stdlib), so this figure is not theirs")
        }
        print("collector before agents, peak RSS: \(collectorIdle / 1024) MB (\(collectorIdle) kB)")
        print("collector with \(agents) connected agents, peak RSS: \(collectorPeak / 1024) MB (\(collectorPeak) kB)")
    }

    /// `source` is the agent's source section (YAML); the rest of the configuration is the same for every kind.
    func startIdleAgent(name: String, kind: String, source: String, executable: URL, folder: URL, store: CollectorStore,
                        port: Int, fingerprint: String) async throws -> SpawnedProcess {
        let enrollment = try await store.enroll(name: name, systemKeys: ["mem"])
        let config = folder.appendingPathComponent("\(name).yaml").path
        try Secrets.writePrivateFile("""
            collector:
              address: 127.0.0.1:\(port)
              agentId: \(enrollment.agent.id)
              secret: \(enrollment.secret)
              fingerprint: \(fingerprint)
            spool:
              path: \(folder.path)/\(name)-spool.sqlite
            system:
              key: mem
            log:
              level: warning
            \(source)
            """, to: config)
        return try SpawnedProcess(executable: executable.path, arguments: [kind, "--config", config])
    }

    /// A pseudo-terminal for the SMDR agent's serial port, held open by a Python process (Swift's
    /// Glibc module leaves out the pty calls) that prints the terminal's path and waits.
    ///
    /// It waits for its standard input to close: the caller keeps both pipes until it is done
    /// with the terminal, and the benchmark's exit, however it ends, closes them. It used to
    /// sleep an hour and outlive every run.
    func startTerminalHolder() throws -> (process: SpawnedProcess, path: String, input: Pipe, output: Pipe) {
        let output = Pipe()
        let input = Pipe()
        let holder = try SpawnedProcess(executable: "/usr/bin/env", arguments: ["python3", "-c", """
            import os, pty, sys
            controller, device = pty.openpty()
            print(os.ttyname(device), flush=True)
            sys.stdin.read()
            """], standardInput: input.fileHandleForReading.fileDescriptor, standardOutput: output.fileHandleForWriting.fileDescriptor)
        try input.fileHandleForReading.close()
        try output.fileHandleForWriting.close()
        // The path and its line end may come as two writes (an unbuffered python3).
        var printed = Data()
        while !printed.contains(UInt8(ascii: "\n")) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            printed += more
        }
        let line = String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("/dev/") else {
            holder.signal(SIGTERM)
            throw ValidationError("python3 did not open a pseudo-terminal (printed '\(line)')")
        }
        return (holder, line, input, output)
    }

    /// Resident memory split into the process's own (anonymous) pages and file-backed pages.
    func rssParts(_ pid: Int32) -> String {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return "" }
        return status.split(separator: "\n").filter { $0.hasPrefix("RssAnon:") || $0.hasPrefix("RssFile:") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ") }
            .joined(separator: ", ")
    }

    /// Whether the process maps libswiftCore.so, i.e. was built without `--static-swift-stdlib`.
    /// Read to the end through a file handle: `String(contentsOfFile:)` stops after the first 4 KiB
    /// of a /proc file.
    func mapsSwiftRuntimeLibrary(_ pid: Int32) -> Bool {
        guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/maps"), let maps = try? file.readToEnd() else { return false }
        try? file.close()
        return String(decoding: maps, as: UTF8.self).contains("/libswiftCore.so")
    }

    func peakRSS(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
