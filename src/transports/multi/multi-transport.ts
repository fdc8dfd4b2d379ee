import { InvalidAddressError } from '../../core/errors.ts'
import { addressForm } from './address-form.ts'
import type { AddressForm } from './address-form.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'

/** The transports of a MultiTransport do not all authenticate as the same identity. */
export class MixedIdentityError extends Error {
  override name = 'MixedIdentityError'
}

/**
 * Several transports of one node (one key, so one identity) behind the one
 * Transport the core sees: a member's address chooses the transport that
 * dials it (address-form.ts), every transport accepts, and the core sees the
 * channels of all of them. So one membership can mix libp2p, TLS and gRPC
 * members, and a cluster can move member by member. A node reached over
 * several transports at once is still one member: the core knows members by
 * identity, whatever carried the channel.
 */
export class MultiTransport implements Transport {
  readonly localIdentity: string
  readonly #transports: ReadonlyMap<AddressForm, Transport>

  constructor (transports: ReadonlyMap<AddressForm, Transport>) {
    const all = [...transports.values()]
    if (all.length === 0) throw new MixedIdentityError('a MultiTransport needs at least one transport')
    this.localIdentity = all[0].localIdentity
    for (const t of all) {
      if (t.localIdentity !== this.localIdentity) throw new MixedIdentityError(`transports authenticate as ${this.localIdentity} and ${t.localIdentity}`)
    }
    this.#transports = transports
  }

  #transportFor (address: string): Transport {
    const form = addressForm(address)
    const transport = this.#transports.get(form)
    if (transport === undefined) {
      throw new InvalidAddressError(`address "${address}" is a ${form} address; this node runs ${[...this.#transports.keys()].join(', ')}`)
    }
    return transport
  }

  parseAddress (address: string): string {
    return this.#transportFor(address).parseAddress(address)
  }

  listenAddresses (): string[] {
    return [...this.#transports.values()].flatMap(t => t.listenAddresses())
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    for (const t of this.#transports.values()) await t.start(onInbound)
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    return await this.#transportFor(address).dial(address, options)
  }

  async disconnect (identity: string): Promise<void> {
    await Promise.all([...this.#transports.values()].map(async t => { await t.disconnect(identity) }))
  }

  async stop (): Promise<void> {
    await Promise.all([...this.#transports.values()].map(async t => { await t.stop() }))
  }
}
