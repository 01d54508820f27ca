#!/usr/bin/env python3
# Builds the tar-wrapped disks of issue 18 into DIR from DIR/disk.raw and DIR/disk.vmdk (a
# streamOptimized VMDK made by qemu-img): OVAs per the OVF spec (descriptor first, ustar), in OVF 1.0
# form (default namespace) and 2.0 form (ovf: prefixed elements), a gzip-compressed disk file, the
# refusals (two disks, a missing file, a wrong size, an XML bomb, a disk declared gzip that is not), an OVA with its disk before its
# descriptor, and plain tars of one and two files and one with a symlink.
#   usage: tar_disks.py DIR
import gzip
import io
import os
import sys
import tarfile

d = sys.argv[1]
raw = open(os.path.join(d, 'disk.raw'), 'rb').read()
vmdk = open(os.path.join(d, 'disk.vmdk'), 'rb').read()
vmdk_gz = gzip.compress(vmdk, mtime=0)
VMDK_FORMAT = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'

BOMB = ('<!DOCTYPE Envelope [\n<!ENTITY a "aaaaaaaaaa">\n'
        + ''.join('<!ENTITY %s "%s">\n' % (chr(ord('b') + i), ('&%s;' % chr(ord('a') + i)) * 10) for i in range(8))
        + ']>\n')


def ovf(files, disks, version=1, prefixed=False, doctype='', body=''):
    ns = 'http://schemas.dmtf.org/ovf/envelope/%d' % version
    p = 'ovf:' if prefixed else ''
    refs = ''
    for fid, href, size, comp in files:
        refs += '<%sFile ovf:id="%s" ovf:href="%s"' % (p, fid, href)
        if size is not None:
            refs += ' ovf:size="%d"' % size
        if comp:
            refs += ' ovf:compression="%s"' % comp
        refs += '/>'
    dks = ''.join('<%sDisk ovf:capacity="4" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk%d" '
                  'ovf:fileRef="%s" ovf:format="%s"/>' % (p, n + 1, f, VMDK_FORMAT) for n, f in enumerate(disks))
    xmlns = 'xmlns:ovf="%s"' % ns + ('' if prefixed else ' xmlns="%s"' % ns)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n%s<%sEnvelope %s '
            'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">\n'
            '  <!-- written by tests/support/tar_disks.py -->\n'
            '  <%sReferences>%s</%sReferences>\n'
            '  <%sDiskSection><%sInfo>Virtual disk information</%sInfo>%s</%sDiskSection>\n'
            '  <%sVirtualSystem ovf:id="vm"><%sInfo>A virtual machine &amp; its disk%s</%sInfo></%sVirtualSystem>\n'
            '</%sEnvelope>\n' % (doctype, p, xmlns, p, refs, p, p, p, p, dks, p, p, p, body, p, p, p)).encode()


def tar(name, entries):
    with tarfile.open(os.path.join(d, name), 'w', format=tarfile.USTAR_FORMAT) as t:
        for entry in entries:
            if entry[0] == 'sym':
                i = tarfile.TarInfo(entry[1])
                i.type = tarfile.SYMTYPE
                i.linkname = entry[2]
                t.addfile(i)
                continue
            n, b = entry
            i = tarfile.TarInfo(n)
            i.size = len(b)
            i.mode = 0o644
            t.addfile(i, io.BytesIO(b))


one = [('file1', 'disk.vmdk', len(vmdk), None)]
mf = b'SHA256(disk.vmdk)= 00\n'
tar('v1.ova', [('vm.ovf', ovf(one, ['file1'])), ('disk.vmdk', vmdk), ('vm.mf', mf)])
tar('v2.ova', [('vm.ovf', ovf(one, ['file1'], version=2, prefixed=True)), ('disk.vmdk', vmdk)])
tar('gzip.ova', [('vm.ovf', ovf([('file1', 'disk.vmdk.gz', len(vmdk_gz), 'gzip')], ['file1'])), ('disk.vmdk.gz', vmdk_gz)])
tar('gzip-undeclared.ova', [('vm.ovf', ovf([('file1', 'disk.vmdk', len(vmdk), 'gzip')], ['file1'])), ('disk.vmdk', vmdk)])
tar('two-disks.ova', [('vm.ovf', ovf([('file1', 'disk1.vmdk', len(vmdk), None), ('file2', 'disk2.vmdk', len(vmdk), None)],
                                     ['file1', 'file2'])), ('disk1.vmdk', vmdk), ('disk2.vmdk', vmdk)])
tar('missing.ova', [('vm.ovf', ovf([('file1', 'absent.vmdk', len(vmdk), None)], ['file1'])), ('disk.vmdk', vmdk)])
tar('wrong-size.ova', [('vm.ovf', ovf([('file1', 'disk.vmdk', len(vmdk) + 512, None)], ['file1'])), ('disk.vmdk', vmdk)])
tar('bomb.ova', [('vm.ovf', ovf(one, ['file1'], doctype=BOMB, body='&i;')), ('disk.vmdk', vmdk)])
tar('disk-first.ova', [('disk.vmdk', vmdk), ('vm.ovf', ovf(one, ['file1'])), ('vm.mf', mf)])
tar('disk-first-other.ova', [('disk.vmdk', vmdk), ('vm.ovf', ovf([('file1', 'other.vmdk', len(vmdk), None)], ['file1']))])
tar('one-file.tar', [('disk.img', raw)])
tar('two-files.tar', [('disk.img', raw), ('notes.txt', b'hello\n')])
tar('symlink.tar', [('sym', 'disk.img', '/etc/passwd'), ('real.img', raw)])
