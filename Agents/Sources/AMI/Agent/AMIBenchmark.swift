import AMIProtocol
import Foundation
import Spawn
import TamasEvents

/// Times, over the same bytes fed in the 64 KiB chunks a socket delivers, on the calling thread:
/// the framer building every message (what panoramisk's framing does), the framer with the early
/// drop of ignored events (the baseline of the tracking cost) and framer + call tracker.
struct AMIBenchmark {
    let stream: AMIStreamGenerator.Stream
    static let chunkBytes = 64 * 1024

    struct Figures {
        var messages: Int
        var framesBuilt: Int
        var framesKept: Int
        var bytes: Int
        var calls: Int
        var callEvents: Int
        var callsEnded: Int
        var everyMessage: StageTime
        var framing: StageTime
        var tracking: StageTime

        var text: String {
            """
            stream: \(messages) AMI messages, \(bytes / 1_000_000) MB, \(calls) calls; framer output (with the banner): \(framesBuilt) frames building every message, \(framesKept) with the early drop of ignored events
            framing, every message built:    \(everyMessage.rates(messages))
            framing + early drop (baseline): \(framing.rates(messages))
            framing + call tracking:         \(tracking.rates(messages)); \(Int(Double(callEvents) / tracking.wallSeconds)) call events/s, \(callsEnded) calls ended, \(callEvents) call events
            ratio tracking/baseline:         \(String(format: "%.2f", framing.wallSeconds / tracking.wallSeconds))
            """
        }
    }

    func run() -> Figures {
        let chunks = stride(from: 0, to: stream.bytes.count, by: Self.chunkBytes).map {
            Array(stream.bytes[$0..<min($0 + Self.chunkBytes, stream.bytes.count)])
        }
        let now = Timestamp(epochMillis: 1_700_000_000_000)
        var framesBuilt = 0
        let everyMessage = StageTime.measure {
            var framer = AMIFramer()
            for chunk in chunks { framesBuilt += framer.push(chunk).count }
            framesBuilt += framer.finish().count
        }
        var framesKept = 0
        let framing = StageTime.measure {
            var framer = AMIFramer(droppedEvents: AMISettings().framerDropList(dialect: .v13plus))
            for chunk in chunks { framesKept += framer.push(chunk).count }
            framesKept += framer.finish().count
        }
        var callEvents = 0
        var callsEnded = 0
        let tracking = StageTime.measure {
            var events = AMIEventStream(settings: AMISettings())
            func count(_ out: [CallEvent]) {
                callEvents += out.count
                for event in out where event.type == .callEnded { callsEnded += 1 }
            }
            for chunk in chunks { count(events.receive(chunk, now: now)) }
            count(events.finish(now: now))
        }
        return Figures(messages: stream.messageCount, framesBuilt: framesBuilt, framesKept: framesKept, bytes: stream.bytes.count,
                       calls: stream.callCount, callEvents: callEvents, callsEnded: callsEnded,
                       everyMessage: everyMessage, framing: framing, tracking: tracking)
    }
}

/// Wall time and the CPU time of the measuring thread. On the shared machine the wall time also
/// counts the time other processes held the core; the CPU time does not, so rates and ratios
/// taken on CPU time move less between runs. Both are printed.
struct StageTime {
    var wallSeconds: Double
    var cpuSeconds: Double

    static func measure(_ body: () -> Void) -> StageTime {
        let cpuStart = threadCPUSeconds()
        let wall = ContinuousClock().measure(body)
        return StageTime(wallSeconds: wall.seconds, cpuSeconds: threadCPUSeconds() - cpuStart)
    }

    func rates(_ messages: Int) -> String {
        "\(Int(Double(messages) / wallSeconds)) AMI messages/s (\(String(format: "%.2f", wallSeconds)) s), "
            + "\(Int(Double(messages) / cpuSeconds)) per CPU second (\(String(format: "%.2f", cpuSeconds)) s CPU)"
    }

    private static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// `ami bench --compare-python`: the Python projects of the AMI facts timed on the stream file the
/// benchmark wrote, one after the other in this session (never at the same time, so they do not
/// compete with each other for the two cores): panoramisk's framing, and panoramisk + cacofonisk's call tracking.
struct AMIPythonComparison {
    /// Folder of panoramisk_bench.py and cacofonisk_bench.py.
    let scriptFolder: URL
    let streamFile: String

    struct Timing {
        var line: String
        var messages: Int
        var time: StageTime
    }

    struct Figures {
        var panoramisk: Timing
        var cacofonisk: Timing
        var cacofoniskCalls: String
        var callsEnded: Int

        func text(against tamas: AMIBenchmark.Figures) -> String {
            """
            \(panoramisk.line)
            \(cacofonisk.line)
            \(cacofoniskCalls)
            calls ended: Tamas \(tamas.callsEnded), cacofonisk \(callsEnded), of \(tamas.calls) in the stream
            ratio framing, Tamas (every message built) / panoramisk:        \(ratios(tamas.everyMessage, panoramisk.time))
            ratio framing + call tracking, Tamas / panoramisk + cacofonisk: \(ratios(tamas.tracking, cacofonisk.time))
            """
        }

        /// Both sides time the same messages, so the ratio of rates is the inverse ratio of times.
        private func ratios(_ tamas: StageTime, _ python: StageTime) -> String {
            String(format: "%.1f by CPU time (%.1f by wall time)", python.cpuSeconds / tamas.cpuSeconds, python.wallSeconds / tamas.wallSeconds)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run(expectedMessages: Int) throws -> Figures {
        let panoramiskOutput = try runScript("panoramisk_bench.py")
        let cacofoniskOutput = try runScript("cacofonisk_bench.py")
        let panoramisk = try timing("panoramisk framing", in: panoramiskOutput)
        let cacofonisk = try timing("panoramisk + cacofonisk call tracking", in: cacofoniskOutput)
        for timing in [panoramisk, cacofonisk] where timing.messages != expectedMessages {
            throw Failure(description: "\(timing.line)\nexpected \(expectedMessages) AMI messages: the scripts did not read the stream the benchmark wrote")
        }
        guard let calls = cacofoniskOutput.split(separator: "\n").first(where: { $0.hasPrefix("cacofonisk calls: ") }),
              let ended = calls.dropFirst("cacofonisk calls: ".count).split(separator: " ").first.flatMap({ Int($0) }) else {
            throw Failure(description: "cacofonisk_bench.py printed no 'cacofonisk calls:' line:\n\(cacofoniskOutput)")
        }
        return Figures(panoramisk: panoramisk, cacofonisk: cacofonisk, cacofoniskCalls: String(calls), callsEnded: ended)
    }

    private func runScript(_ name: String) throws -> String {
        let script = scriptFolder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw Failure(description: "\(script.path) is missing: run from the repository root or pass --python-bench-folder")
        }
        let output = Pipe()
        let process = try SpawnedProcess(executable: "/usr/bin/env", arguments: ["python3", script.path, streamFile],
                                         standardOutput: output.fileHandleForWriting.fileDescriptor)
        try output.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let status = process.waitUntilExit()
        guard status == .exited(0) else {
            throw Failure(description: "python3 \(name) exited \(status.status) (is it installed? deploy/install-deps.sh --test installs panoramisk and cacofonisk):\n\(text)")
        }
        return text
    }

    /// Reads the result line both scripts print: "<label>: <n> AMI messages in <wall> s (<cpu> s CPU) = ...".
    private func timing(_ label: String, in output: String) throws -> Timing {
        for line in output.split(separator: "\n") where line.hasPrefix(label + ": ") {
            let words = line.dropFirst(label.count + 2).split { $0 == " " || $0 == "(" }
            if words.count > 8, words[8] == "CPU)", let messages = Int(words[0]), let wall = Double(words[4]), let cpu = Double(words[6]),
               wall > 0, cpu > 0 {
                return Timing(line: String(line), messages: messages, time: StageTime(wallSeconds: wall, cpuSeconds: cpu))
            }
        }
        throw Failure(description: "no '\(label): N AMI messages in W s (C s CPU)' line in:\n\(output)")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
