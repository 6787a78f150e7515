import AMIProtocol
import Foundation
import Logging
import RemoteFiles
import TamasEvents

/// Runs the tracker's `AMIRecordingSearch`es: lists the candidate folders on the PBX over SFTP
/// or FTP (`ami.recordingDownload`) and emits `recording.available` for the file named after
/// the call's id. It runs beside the AMI reader, never in it: `submit` only schedules, and
/// the listing happens in `run`, one connection per batch of due searches.
actor AMIRecordingFinder {
    private var schedule: AMIRecordingSearchSchedule
    private let download: RemoteFilesSettings
    private let logger: Logger
    private let origin = ContinuousClock.now
    /// The last connection or listing problem logged, so an unreachable server logs once, not per call.
    private var lastProblem: String?
    private var droppedSearches = 0

    init(download: RemoteFilesSettings, delaySeconds: Double, logger: Logger) {
        self.download = download
        self.logger = logger
        schedule = AMIRecordingSearchSchedule(delayMillis: Int64((delaySeconds * 1000).rounded()))
    }

    private var nowMillis: Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    func submit(_ search: AMIRecordingSearch) {
        guard !schedule.add(search, nowMillis: nowMillis) else { return }
        droppedSearches += 1
        if droppedSearches == 1 || droppedSearches.isMultiple(of: 1000) {
            logger.warning("recording searches dropped: the search schedule is full (the recording server has been unreachable for long)",
                           metadata: ["dropped": "\(droppedSearches)", "capacity": "\(schedule.capacity)"])
        }
    }

    /// Runs until cancelled, handing each found recording's event to `emit`.
    func run(emit: @escaping @Sendable ([CallEvent]) async -> Void) async throws {
        while true {
            try Task.checkCancellation()
            let due = schedule.takeDue(nowMillis: nowMillis)
            guard !due.isEmpty else {
                // Naps of at most 250 ms, so a search submitted meanwhile is not noticed late.
                let wait = schedule.nextDueMillis.map { min(max($0 - nowMillis, 10), 250) } ?? 250
                try await Task.sleep(for: .milliseconds(wait))
                continue
            }
            let found = await search(due)
            if !found.isEmpty { await emit(found) }
        }
    }

    private func search(_ entries: [AMIRecordingSearchSchedule.Entry]) async -> [CallEvent] {
        let store: any RemoteFileStore
        do {
            store = try await RemoteFiles.connect(download)
        } catch {
            note(problem: "cannot reach the recording server to search for recordings: \(error)")
            for entry in entries { retryOrGiveUp(entry) }
            return []
        }
        var fileNames: [String: [String]] = [:]
        var events: [CallEvent] = []
        for entry in entries {
            var found: String?
            for folder in entry.search.candidates.directories where found == nil {
                if fileNames[folder] == nil {
                    do {
                        fileNames[folder] = try await store.list(folder: folder).filter { $0.kind == .file }.map(\.name)
                    } catch .notFound {
                        fileNames[folder] = []
                    } catch {
                        // The next folder may still hold the file; this one is tried again at the retry.
                        note(problem: "cannot list \(folder) to search for recordings: \(error)")
                        continue
                    }
                }
                if let name = entry.search.recording(amongFileNames: fileNames[folder] ?? []) { found = folder + "/" + name }
            }
            if let found {
                logger.info("recording found by the call's id", metadata: ["callId": "\(entry.search.callId)", "path": "\(found)"])
                events.append(entry.search.availableEvent(path: found))
            } else {
                retryOrGiveUp(entry)
            }
        }
        await store.close()
        if events.count == entries.count { lastProblem = nil }
        return events
    }

    private func retryOrGiveUp(_ entry: AMIRecordingSearchSchedule.Entry) {
        if schedule.retry(entry, nowMillis: nowMillis) {
            logger.debug("no recording yet, searching again", metadata: ["callId": "\(entry.search.callId)", "attempt": "\(entry.attempt)"])
            return
        }
        let suffix = entry.search.candidates.fileNameSuffixes.first ?? ""
        logger.info("no recording for the call: nothing named *\(suffix) (or another of its ids) in \(entry.search.candidates.directories.joined(separator: " or "))",
                    metadata: ["callId": "\(entry.search.callId)", "attempts": "\(entry.attempt)"])
    }

    private func note(problem: String) {
        guard problem != lastProblem else { return }
        lastProblem = problem
        logger.warning("\(problem)")
    }
}
