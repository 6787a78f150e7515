import Foundation
import FuzzDriver
import FuzzHarness

/// Chosen once, before libFuzzer starts; its fork-mode children inherit the environment.
nonisolated(unsafe) private var target: (([UInt8]) -> Void)?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, let target else { return 0 }
    target(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// SwiftPM links an executable with `main` defined as `<Module>_main` (testable executables),
/// which keeps libFuzzer's own main out: start its driver from here.
@_cdecl("Fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["TAMAS_FUZZ_TARGET"] ?? ""
    guard let chosen = Harness.targets[name] else {
        let known = Harness.targets.keys.sorted().joined(separator: ", ")
        FileHandle.standardError.write(Data("Fuzz: set TAMAS_FUZZ_TARGET to one of \(known), not '\(name)'\n".utf8))
        return 2
    }
    target = chosen
    return tamas_run_libfuzzer(argc, argv, fuzz)
}
