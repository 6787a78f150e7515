import Foundation
import Spawn
import XCTest

/// Real processes for end-to-end tests: the built `tamas-collector`, `tamas-agent` and
/// `tamasctl`, started on loopback with their own data folders, killed with SIGKILL when a test
/// needs a crash, and always reaped.
public enum Binaries {
    /// The folder holding the built executables (the test bundle sits beside them).
    public static let folder: URL = {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [own, own.deletingLastPathComponent(), Fixtures.repositoryRoot.appendingPathComponent(".build/debug")]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("tamas-collector").path) {
            return candidate
        }
        return own
    }()

    public static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
}

/// A child process whose standard error is collected (the tamas tools log there).
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    private let process: SpawnedProcess
    /// Kept for the life of the child: a pipe's reading end closes when the Pipe goes, and the
    /// child's next write would then end it with SIGPIPE.
    private let pipes: [Pipe]
    private let lock = NSLock()
    private var errorText = ""
    private var outputText = ""

    public init(_ binary: String, _ arguments: [String], name: String? = nil, stdin: FileHandle? = nil) throws {
        self.name = name ?? binary
        let errorPipe = Pipe()
        let outputPipe = Pipe()
        process = try SpawnedProcess(executable: Binaries.url(binary).path, arguments: arguments,
                                     standardInput: stdin?.fileDescriptor,
                                     standardOutput: outputPipe.fileHandleForWriting.fileDescriptor,
                                     standardError: errorPipe.fileHandleForWriting.fileDescriptor)
        // The child holds the writing ends now; with the test's copies closed, its exit ends the reads.
        try errorPipe.fileHandleForWriting.close()
        try outputPipe.fileHandleForWriting.close()
        pipes = [errorPipe, outputPipe]
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            self?.lock.withLock { self?.errorText += text }
        }
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            self?.lock.withLock { self?.outputText += text }
        }
    }

    public var pid: Int32 { process.pid }
    public var isRunning: Bool { process.isRunning }
    public var log: String { lock.withLock { errorText } }
    public var output: String { lock.withLock { outputText } }
    /// The exit code (or the signal that ended it); -1 while it runs.
    public var exitCode: Int32 { process.termination?.status ?? -1 }

    /// Simulates a crash or power cut: no chance to flush or say goodbye.
    public func kill9() {
        process.signal(SIGKILL)
        process.waitUntilExit()
    }

    public func terminate() {
        process.signal(SIGTERM)
        process.waitUntilExit()
    }

    public func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    /// Waits until the log contains `text`; returns the log so far.
    @discardableResult
    public func waitForLog(_ text: String, timeout: Double, file: StaticString = #filePath, line: UInt = #line) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = log
            if current.contains(text) { return current }
            usleep(20_000)
        }
        XCTFail("\(name) did not log '\(text)' within \(timeout) s; its log:\n\(log.suffix(4000))", file: file, line: line)
        return log
    }
}

/// Runs a command to completion and returns its standard output (fails the test on a non-zero exit).
@discardableResult
public func runTool(_ binary: String, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                    timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let result = try runToolAllowingFailure(binary, arguments, environment: environment, input: input, timeout: timeout)
    if result.status != 0 {
        XCTFail("\(binary) \(arguments.joined(separator: " ")) exited \(result.status): \(result.error)", file: file, line: line)
    }
    return result.output
}

public struct ToolResult {
    public var status: Int32
    public var output: String
    public var error: String
}

public func runToolAllowingFailure(_ binary: String, _ arguments: [String], environment: [String: String] = [:],
                                   input: Data? = nil, timeout: Double = 60) throws -> ToolResult {
    let executable = binary.hasPrefix("/") ? binary : Binaries.url(binary).path
    let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).out")
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).err")
    try createFile(outputFile.path)
    try createFile(errorFile.path)
    defer {
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }
    let output = try FileHandle(forWritingTo: outputFile)
    let error = try FileHandle(forWritingTo: errorFile)
    let inputPipe = Pipe()
    let process = try SpawnedProcess(
        executable: executable, arguments: arguments,
        environment: environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 },
        standardInput: inputPipe.fileHandleForReading.fileDescriptor, standardOutput: output.fileDescriptor,
        standardError: error.fileDescriptor)
    try output.close()
    try error.close()
    try inputPipe.fileHandleForReading.close()
    if let input { inputPipe.fileHandleForWriting.write(input) }
    try inputPipe.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.signal(SIGKILL)
        process.waitUntilExit()
        return ToolResult(status: -9, output: "", error: "timed out after \(timeout) s")
    }
    return ToolResult(status: process.waitUntilExit().status,
                      output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
                      error: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
}

/// A loopback port that was free a moment ago (for a process that must keep its port across restarts).
public func freeLoopbackPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

public func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Creates (or replaces) the file at `path`; a fixture that cannot be written fails here, with
/// its path, rather than later as a missing file.
public func createFile(_ path: String, _ contents: Data? = nil, mode: Int? = nil) throws {
    let attributes: [FileAttributeKey: Any]? = mode.map { [.posixPermissions: $0] }
    guard FileManager.default.createFile(atPath: path, contents: contents, attributes: attributes) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// Polls `condition` until it holds or the time is up.
public func eventually(timeout: Double, every interval: Double = 0.2, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(UInt32(interval * 1_000_000))
    }
    return try condition()
}
