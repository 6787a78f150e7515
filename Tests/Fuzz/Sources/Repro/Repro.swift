import Foundation
import FuzzHarness

/// Plain (non-fuzzer) runner: `Repro <SMDR|AMI|CallerID|Telsa|JSON|Link> file...` feeds each file to
/// the same harness function the fuzz target uses.
@main
struct Repro {
    static func main() throws {
        let args = CommandLine.arguments.dropFirst()
        guard let target = args.first else {
            FileHandle.standardError.write(Data("usage: Repro <SMDR|AMI|CallerID|Telsa|JSON|Link> file...\n".utf8))
            exit(2)
        }
        for path in args.dropFirst() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            print("running \(target) on \(path) (\(bytes.count) bytes)")
            switch target {
            case "SMDR": Harness.fuzzSMDR(bytes)
            case "AMI": Harness.fuzzAMI(bytes)
            case "CallerID": Harness.fuzzCallerID(bytes)
            case "Telsa": Harness.fuzzTelsa(bytes)
            case "JSON": Harness.fuzzJSON(bytes)
            case "Link": Harness.fuzzLink(bytes)
            default: print("unknown target \(target)"); exit(2)
            }
            print("ok")
        }
    }
}
