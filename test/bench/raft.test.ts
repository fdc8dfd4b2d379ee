import { expect, it } from '@jest/globals'
import { QUICK_BENCH_TIMEOUT_MS, QUICK_GROUPS, RAFT, quickBench, systemsOf } from '../helpers/quick-bench.ts'
import { describeWhereAvailable } from '../helpers/requires.ts'

const describeRaft = describeWhereAvailable('bench/raft', RAFT ? undefined : 'the raft scenario needs Go and etcd raft (see .ci/run)')

describeRaft(`npm run bench -- --quick --only ${QUICK_GROUPS.raft.join(',')}`, () => {
  it('runs etcd raft over mirnet against a direct TCP transport', async () => {
    const report = await quickBench([...QUICK_GROUPS.raft])
    expect(systemsOf(report, 'raft')).toEqual(expect.arrayContaining(['mirnet', 'direct-tcp']))
  }, QUICK_BENCH_TIMEOUT_MS)
})
