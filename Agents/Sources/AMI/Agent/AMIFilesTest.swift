import Foundation
import RemoteFiles

/// The settings page's recording "test" button (SPEC.md section 4) and `tamas-agent ami
/// test-files`: log in over SFTP/FTP, check the host key, check the recording folder and list
/// the newest recordings.
struct AMIFilesTest {
    struct Report: Sendable {
        var ok: Bool
        var lines: [String]
        var text: String { lines.joined(separator: "\n") }
    }

    let settings: RemoteFilesSettings
    let root: String

    func run(newest count: Int, acceptNewHostKey: Bool) async -> Report {
        let known = KnownHosts(file: settings.knownHostsFile)
        let pinnedBefore = (try? known.entries())?[settings.server]
        var lines = ["server: \(settings.transfer.rawValue.uppercased()) \(settings.server) as \(settings.user)"]
        let store: any RemoteFileStore
        do {
            store = try await RemoteFiles.connect(settings, acceptNewHostKey: acceptNewHostKey)
        } catch {
            return Report(ok: false, lines: lines + ["login: FAILED", error.description] + advice(for: error))
        }
        lines.append("login: accepted")
        if settings.transfer == .sftp, let pinned = (try? known.entries())?[settings.server] {
            switch pinnedBefore {
            case nil: lines.append("host key: \(pinned) (first use: pinned in \(settings.knownHostsFile))")
            case pinned?: lines.append("host key: \(pinned) (matches the pinned key)")
            case let previous?: lines.append("host key: \(pinned) (ACCEPTED on request, replacing \(previous))")
            }
        }
        let report = await inspect(store, lines: lines, count: count)
        await store.close()
        return report
    }

    private func inspect(_ store: any RemoteFileStore, lines: [String], count: Int) async -> Report {
        var lines = lines
        do {
            let folder = try await store.stat(path: root)
            guard folder.kind == .directory || folder.kind == .symbolicLink else {
                return Report(ok: false, lines: lines + ["recording path: \(root) is not a folder (ami.recordingPath)"])
            }
            let newest = try await newestRecordings(store, count: count)
            lines.append("recording path: \(root) (readable)")
            if newest.isEmpty {
                lines.append("recordings: none found yet (is recording enabled on the PBX, and is this the folder it writes to?)")
            } else {
                lines.append("newest recordings:")
                let format = ISO8601DateFormatter()
                for file in newest {
                    lines.append("  \(file.modified.map { format.string(from: $0) } ?? "(no time)")  \(file.size) bytes  \(file.path)")
                }
            }
            return Report(ok: true, lines: lines)
        } catch {
            let hint = error == .notFound(server: settings.server, path: root)
                ? ["the recording path \(root) does not exist on the server: set ami.recordingPath to the folder Asterisk records into"] : []
            return Report(ok: false, lines: lines + ["recording path: FAILED", error.description] + hint)
        }
    }

    /// FreePBX/Issabel keep recordings in `<root>/YYYY/MM/DD/`, old Elastix flat in the root:
    /// the newest files of the latest dated folder and of the root itself.
    private func newestRecordings(_ store: any RemoteFileStore, count: Int) async throws(RemoteFilesError) -> [RemoteFile] {
        var level = try await store.list(folder: root)
        var candidates = level
        for _ in 0..<3 {
            let dated = level.filter { $0.kind == .directory && !$0.name.isEmpty && $0.name.allSatisfy(\.isNumber) }
            guard let latest = dated.max(by: { $0.name.count == $1.name.count ? $0.name < $1.name : $0.name.count < $1.name.count }) else { break }
            level = try await store.list(folder: latest.path)
            candidates += level
        }
        return RemoteFile.newestFiles(candidates, count: count)
    }

    private func advice(for error: RemoteFilesError) -> [String] {
        switch error {
        case .authenticationFailed:
            ["check ami.recordingDownload user and password (or privateKeyFile); for SFTP as root, sshd_config must allow it (PermitRootLogin)"]
        case .cannotConnect, .timedOut:
            ["check ami.recordingDownload host and port (\(settings.transfer == .sftp ? "SSH, 22" : "FTP, 21") by default) and the firewall"]
        case .protocolFailure:
            ["is this port really \(settings.transfer == .sftp ? "SSH" : "FTP")? (ami.recordingDownload protocol/port)"]
        default: []
        }
    }
}
