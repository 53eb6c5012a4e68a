// The one typed wrapper around the shell's Tauri commands. Each command takes at most one
// argument, named `input`; errors arrive as `AppError { code, message }` and are passed on
// unchanged (the UI shows `message` and branches only on `code`).

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

import type { AccountSummary } from './bindings/AccountSummary';
import type { AmendInput } from './bindings/AmendInput';
import type { AppError } from './bindings/AppError';
import type { AttendanceInput } from './bindings/AttendanceInput';
import type { AttendanceRow } from './bindings/AttendanceRow';
import type { BillingInput } from './bindings/BillingInput';
import type { BillingProgress } from './bindings/BillingProgress';
import type { BillingSummary } from './bindings/BillingSummary';
import type { CancelReservationInput } from './bindings/CancelReservationInput';
import type { ChildDetail } from './bindings/ChildDetail';
import type { ChildFee } from './bindings/ChildFee';
import type { ChildMonthInput } from './bindings/ChildMonthInput';
import type { ChildRef } from './bindings/ChildRef';
import type { ChildSummary } from './bindings/ChildSummary';
import type { ClaimInput } from './bindings/ClaimInput';
import type { ConcludeInput } from './bindings/ConcludeInput';
import type { ContractRef } from './bindings/ContractRef';
import type { ContractRow } from './bindings/ContractRow';
import type { CreateUserInput } from './bindings/CreateUserInput';
import type { GroupView } from './bindings/GroupView';
import type { GuardianFinance } from './bindings/GuardianFinance';
import type { GuardianRef } from './bindings/GuardianRef';
import type { HealthRecord } from './bindings/HealthRecord';
import type { IdleInput } from './bindings/IdleInput';
import type { ImportInput } from './bindings/ImportInput';
import type { LoginInput } from './bindings/LoginInput';
import type { MandateSummary } from './bindings/MandateSummary';
import type { Overview } from './bindings/Overview';
import type { PathInput } from './bindings/PathInput';
import type { PinInput } from './bindings/PinInput';
import type { RecordMandateInput } from './bindings/RecordMandateInput';
import type { Receipt } from './bindings/Receipt';
import type { RejectInput } from './bindings/RejectInput';
import type { ReserveInput } from './bindings/ReserveInput';
import type { RevokeMandateInput } from './bindings/RevokeMandateInput';
import type { RuleSetSummary } from './bindings/RuleSetSummary';
import type { SavedDocument } from './bindings/SavedDocument';
import type { SearchInput } from './bindings/SearchInput';
import type { SessionInfo } from './bindings/SessionInfo';
import type { Settings } from './bindings/Settings';
import type { SetupInput } from './bindings/SetupInput';
import type { SetRoleInput } from './bindings/SetRoleInput';
import type { UserRef } from './bindings/UserRef';
import type { StartInfo } from './bindings/StartInfo';
import type { TerminateInput } from './bindings/TerminateInput';
import type { UnlockInput } from './bindings/UnlockInput';
import type { WaitingEntry } from './bindings/WaitingEntry';
import type { ImportPreview } from './bindings/ImportPreview';
import type { ImportSummary } from './bindings/ImportSummary';
import type { EnrolInput } from './bindings/EnrolInput';
import type { Enrolment } from './bindings/Enrolment';
import type { InboxInput } from './bindings/InboxInput';
import type { InboxItem } from './bindings/InboxItem';
import type { ResolveInboxInput } from './bindings/ResolveInboxInput';
import type { SyncStatus } from './bindings/SyncStatus';
import type { CityOverview } from './bindings/CityOverview';
import type { CityProposal } from './bindings/CityProposal';
import type { DecideDuplicateInput } from './bindings/DecideDuplicateInput';
import { t } from './i18n';

export type { AppError };

/** Is this value an `AppError` as the shell rejects with? */
export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null && typeof (e as AppError).code === 'string' && typeof (e as AppError).message === 'string';
}

/** Whatever was thrown, as an `AppError` (AppErrors themselves unchanged). */
export function toAppError(e: unknown): AppError {
  if (isAppError(e)) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message: t('error.unexpected', { detail }) };
}

type ErrorListener = (e: AppError) => void;
let errorListener: ErrorListener | null = null;

/**
 * Called with every error of every command. The app uses it to show the lock screen on
 * `locked` and the login on `not_logged_in`, whichever screen made the call.
 */
export function onCommandError(listener: ErrorListener | null): void {
  errorListener = listener;
}

async function call<T>(command: string, input?: unknown): Promise<T> {
  try {
    return await invoke<T>(command, input === undefined ? undefined : { input });
  } catch (e) {
    const err = toAppError(e);
    errorListener?.(err);
    throw err;
  }
}

// Start, session
export const startInfo = () => call<StartInfo>('start_info');
/** Tells the shell the first screen is painted (start-up measurement; a no-op otherwise). */
export const uiReady = () => call<void>('ui_ready');
export const setup = (input: SetupInput) => call<SessionInfo>('setup', input);
export const login = (input: LoginInput) => call<SessionInfo>('login', input);
export const unlock = (input: UnlockInput) => call<SessionInfo>('unlock', input);
export const lock = () => call<void>('lock');
export const logout = () => call<void>('logout');
export const touch = () => call<SessionInfo | null>('touch');
export const session = () => call<SessionInfo | null>('session');

// Reading
export const overview = () => call<Overview>('overview');
export const searchChildren = (input: SearchInput) => call<ChildSummary[]>('search_children', input);
export const childDetail = (input: ChildRef) => call<ChildDetail>('child_detail', input);
/** Audited read. */
export const childHealth = (input: ChildRef) => call<HealthRecord>('child_health', input);
/** Audited read. */
export const guardianFinance = (input: GuardianRef) => call<GuardianFinance>('guardian_finance', input);

// Applications
export const waitingList = () => call<WaitingEntry[]>('waiting_list');
export const reserve = (input: ReserveInput) => call<Receipt>('reserve', input);
export const rejectApplication = (input: RejectInput) => call<Receipt>('reject_application', input);
export const cancelReservation = (input: CancelReservationInput) => call<Receipt>('cancel_reservation', input);

// Contracts
export const contracts = () => call<ContractRow[]>('contracts');
export const concludeContract = (input: ConcludeInput) => call<Receipt>('conclude_contract', input);
export const amendContract = (input: AmendInput) => call<Receipt>('amend_contract', input);
export const terminateContract = (input: TerminateInput) => call<Receipt>('terminate_contract', input);

// Groups, attendance
export const groups = () => call<GroupView[]>('groups');
export const attendanceToday = () => call<AttendanceRow[]>('attendance_today');
export const recordAttendance = (input: AttendanceInput) => call<Receipt>('record_attendance', input);

// Accounts, settings
export const users = () => call<AccountSummary[]>('users');
export const createUser = (input: CreateUserInput) => call<Receipt>('create_user', input);
export const setUserRole = (input: SetRoleInput) => call<Receipt>('set_user_role', input);
export const deactivateUser = (input: UserRef) => call<Receipt>('deactivate_user', input);
export const setPin = (input: PinInput) => call<void>('set_pin', input);
export const settings = () => call<Settings>('settings');
export const setIdleMinutes = (input: IdleInput) => call<void>('set_idle_minutes', input);

// Import from the inbox folder
export const inboxFiles = () => call<string[]>('inbox_files');
export const importPreview = (input: ImportInput) => call<ImportPreview>('import_preview', input);
export const importCommit = (input: ImportInput) => call<ImportSummary>('import_commit', input);

// Documents, fees, billing (billing needs `run_billing`; the contract `read_contracts`)
/** The contract as PDF, saved in the documents folder; the bytes come along for the preview. */
export const contractPdf = (input: ContractRef) => call<SavedDocument>('contract_pdf', input);
/** Audited (reads income data). */
export const childFee = (input: ChildMonthInput) => call<ChildFee>('child_fee', input);
export const feeNoticePdf = (input: ChildMonthInput) => call<SavedDocument>('fee_notice_pdf', input);
/** Runs while `billing-progress` events arrive (see `onBillingProgress`). */
export const billingRun = (input: BillingInput) => call<BillingSummary>('billing_run', input);
/** Earlier runs of the facility, newest first. */
export const billingRuns = () => call<BillingSummary[]>('billing_runs');
/** The youth-office claim as PDF and CSV; the two paths. */
export const claimList = (input: ClaimInput) => call<string[]>('claim_list', input);
/** A guardian's SEPA mandates (`read_finance`; audited). */
export const mandates = (input: GuardianRef) => call<MandateSummary[]>('mandates', input);
/** A signed mandate from the paper form (`write_finance`). */
export const recordMandate = (input: RecordMandateInput) => call<Receipt>('record_mandate', input);
export const revokeMandate = (input: RevokeMandateInput) => call<Receipt>('revoke_mandate', input);
export const ruleSets = () => call<RuleSetSummary[]>('rule_sets');
/** Opens one of the app's own documents in the desktop's PDF program (for printing). */
export const openDocument = (input: PathInput) => call<void>('open_document', input);

// Sync with the hub
/** Enrolment, last sync, pending changes, last error; the inbox count of this role. */
export const syncStatus = () => call<SyncStatus>('sync_status');
/** Wakes the background sync ("Jetzt synchronisieren"); answers with the status. */
export const syncNow = () => call<SyncStatus>('sync_now');
/** The clarification inbox ("Klärungsbedarf"), open entries first. */
export const inbox = (input: InboxInput) => call<InboxItem[]>('inbox', input);
/** `retry` gives the command again (a receipt), `dismiss` keeps the hub's state (null). */
export const resolveInbox = (input: ResolveInboxInput) => call<Receipt | null>('resolve_inbox', input);
/** The city's duplicate proposals and registry matches as last fetched (`read_applications`). */
export const cityOverview = () => call<CityOverview>('city_overview');
/** Decides a proposal (`manage_applications`): queued, sent by the next sync round. */
export const decideDuplicate = (input: DecideDuplicateInput) => call<CityProposal>('decide_duplicate', input);
/** Binds this PC to the hub with a one-time code (`manage_users`). */
export const enrol = (input: EnrolInput) => call<Enrolment>('enrol', input);

/** The shell's `sync-status` events: the status whenever it changed (rounds, errors, new changes). */
export function onSyncStatus(handler: (s: SyncStatus) => void): Promise<UnlistenFn> {
  return listen<SyncStatus>('sync-status', (event) => handler(event.payload));
}

/** The shell's `billing-progress` events while `billingRun` runs. */
export function onBillingProgress(handler: (p: BillingProgress) => void): Promise<UnlistenFn> {
  return listen<BillingProgress>('billing-progress', (event) => handler(event.payload));
}

/** The shell's `inbox-changed` event: the file names now in the watched inbox folder. */
export function onInboxChanged(handler: (files: string[]) => void): Promise<UnlistenFn> {
  return listen<string[]>('inbox-changed', (event) => handler(event.payload));
}
