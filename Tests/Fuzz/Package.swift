// swift-tools-version:6.1
// The libFuzzer harness (docs/fuzzing.md). Not buildable where it lies: deploy/fuzz.sh assembles a
// scratch package of links to this folder and to the repository folders named below (same
// relative paths), so the fuzzer build instruments only the parsers and never touches the root package.
import PackageDescription

let parsers: [Target.Dependency] = [
    "TamasEvents", "SMDRProtocol", "AMIProtocol", "CallerIDProtocol", "TelsaProtocol", "JSONLProtocol", "TamasLink",
    .product(name: "NIOCore", package: "swift-nio"),
]

let package = Package(
    name: "TamasFuzz",
    platforms: [.macOS(.v15)],
    // The root package's checkouts, used offline: deploy/fuzz.sh links them here and builds with
    // SWIFTCI_USE_LOCAL_DEPS=1 so swift-nio takes its own dependencies from its siblings.
    dependencies: [.package(path: "checkouts/swift-nio")],
    targets: [
        .target(name: "TamasEvents", path: "Shared/TamasEvents"),
        // AMIProtocol only needs Insecure.MD5; the stub spares building BoringSSL under the sanitizers.
        .target(name: "Crypto", path: "Stubs/Crypto"),
        .target(name: "SMDRProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/SMDR/Protocol"),
        .target(name: "AMIProtocol", dependencies: ["TamasEvents", "Crypto"], path: "Agents/Sources/AMI/Protocol"),
        .target(name: "CallerIDProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/CallerID/Protocol"),
        .target(name: "TelsaProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/Telsa/Protocol"),
        .target(name: "JSONLProtocol", dependencies: ["TamasEvents"], path: "Agents/Sources/JSONL/Protocol"),
        // Only the sans-I/O codec and its messages are linked in (deploy/fuzz.sh).
        .target(name: "TamasLink", dependencies: ["TamasEvents", .product(name: "NIOCore", package: "swift-nio")],
                path: "Shared/TamasLink"),

        .target(name: "FuzzHarness", dependencies: parsers, path: "Sources/FuzzHarness"),
        .target(name: "FuzzDriver", path: "Sources/FuzzDriver"),
        // One fuzzer for every target, chosen by TAMAS_FUZZ_TARGET (deploy/fuzz.sh sets it).
        .executableTarget(name: "Fuzz", dependencies: ["FuzzHarness", "FuzzDriver"], path: "Sources/Fuzz"),
        .executableTarget(name: "Repro", dependencies: ["FuzzHarness"], path: "Sources/Repro"),
    ]
)
