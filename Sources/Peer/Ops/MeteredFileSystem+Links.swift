import Storage

// A checkpoint hard-links tables through the store's file system; the metered wrapper
// passes links to the real one (without this, `linkOrCopy` would copy every table).
extension MeteredFileSystem: HardLinkingFileSystem {
    public func hardLink(_ from: String, to: String) throws(StorageError) {
        guard let linking = base as? HardLinkingFileSystem else {
            throw .io(operation: "link to \(to) (no links on this file system)", path: from, errno: 1)
        }
        try linking.hardLink(from, to: to)
    }
}
