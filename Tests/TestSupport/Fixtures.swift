import Foundation
import XCTest

/// Where the repository and the shared fixtures are, found from this file's real location so
/// it works from the main package, from a symlinked scratch package and from CI's fresh clone
/// (which has `shared/` beside the checkout).
public enum Fixtures {
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static let sharedFixtures: URL = repositoryRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures")

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: sharedFixtures.appendingPathComponent(relativePath))
    }

    public static func testFile(_ relativePath: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests").appendingPathComponent(relativePath)
    }

    /// The fenced ```` ```language ```` blocks of a markdown file of the repository, in order:
    /// how the tests run the examples the documentation shows.
    public static func codeBlocks(in file: String, language: String) throws -> [String] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(file), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append((current ?? []).joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current?.append(line)
            }
        }
        return blocks
    }
}

extension XCTestCase {
    /// Writes an agent configuration file (removed after the test) with `mode`; the text's
    /// `COLLECTOR_SECRET` is replaced by the path of a 0600 collector secret file beside it.
    public func writeAgentConfig(_ text: String, mode: Int = 0o600) throws -> String {
        let folder = try temporaryFolder("agent-config")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("agent.yaml").path
        let collectorSecret = folder.appendingPathComponent("collector.secret").path
        try createFile(collectorSecret, Data("link-secret".utf8), mode: 0o600)
        try createFile(path, Data(text.replacingOccurrences(of: "COLLECTOR_SECRET", with: collectorSecret).utf8), mode: mode)
        return path
    }
}

/// Compares `actual` with a checked-in expected file. `TAMAS_UPDATE_GOLDEN=1` rewrites the file
/// instead, which is how expected output is first produced and then reviewed in the diff.
public func assertGolden(_ actual: String, path relativePath: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = Fixtures.testFile(relativePath)
    if ProcessInfo.processInfo.environment["TAMAS_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no golden file at Tests/\(relativePath); run with TAMAS_UPDATE_GOLDEN=1 and review it", file: file, line: line)
        return
    }
    if expected != actual {
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDifference = zip(expectedLines, actualLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(expectedLines.count, actualLines.count)
        XCTFail("""
            output differs from Tests/\(relativePath) at line \(firstDifference + 1):
            expected: \(firstDifference < expectedLines.count ? String(expectedLines[firstDifference]) : "<end>")
            actual:   \(firstDifference < actualLines.count ? String(actualLines[firstDifference]) : "<end>")
            """, file: file, line: line)
    }
}
