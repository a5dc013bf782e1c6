; Inno Setup 6 script: a per-user installer for the bundle in dist\traycreds-windows\
; (the embeddable CPython, traycreds' packages and two launchers: installer/README.md).
;
;   iscc /DAppVersion=0.1.0 installer\traycreds.iss      (installer/build-windows.sh does it,
;                                                        with ISCC under wine: installer/iscc.sh)
;
; Silent use (what CI checks, tests/test_windows_installer.py):
;   traycreds-VERSION-setup.exe /VERYSILENT /CURRENTUSER /TASKS=startup,addtopath
;   unins000.exe /VERYSILENT                 keeps keys and settings
;   unins000.exe /VERYSILENT /PURGE=yes      removes them too (traycreds uninstall-data --yes)
; An upgrade keeps the user's start-at-login choice (KeepStartAtLogin).
;
; No administrator rights: installs to %LOCALAPPDATA%\Programs\traycreds, adds a Start menu
; entry, optionally starts traycreds at login (the same HKCU Run value `traycreds autostart on`
; writes, see traycreds/adapters/autostart.py, clearing a Task Manager "disabled" for it too)
; and adds the folder to the user's PATH for the command line and AWS credential_process. The
; uninstaller keeps the user's keys and settings unless the user says yes to removing them (then
; `traycreds.exe uninstall-data --yes` runs).

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\dist\traycreds-windows"
#endif

[Setup]
AppId={{6B0F4E2C-7A53-4C1D-9E8B-3F2A1D5C7E90}
AppName=traycreds
AppVersion={#AppVersion}
AppVerName=traycreds {#AppVersion}
AppPublisher=traycreds contributors
AppComments=Switch AWS roles from the system tray
DefaultDirName={localappdata}\Programs\traycreds
DisableDirPage=auto
DefaultGroupName=traycreds
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
; Every running tray holds this mutex (traycreds/adapters/instance.py, installer_mutex_name):
; Setup and Uninstall ask the user to quit it first; a silent run stops instead.
AppMutex=Global\traycreds-running-{username}
ChangesEnvironment=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\dist
OutputBaseFilename=traycreds-{#AppVersion}-setup
SetupIconFile=..\assets\traycreds.ico
UninstallDisplayIcon={app}\traycreds.ico
UninstallDisplayName=traycreds
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "startup"; Description: "Start traycreds when I log in"; GroupDescription: "Options:"
Name: "addtopath"; Description: "Add traycreds to my PATH (command line, AWS credential_process)"; GroupDescription: "Options:"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\traycreds"; Filename: "{app}\traycredsw.exe"; Parameters: "tray"; IconFilename: "{app}\traycreds.ico"; Comment: "Switch AWS roles from the system tray"

[Registry]
; The value traycreds' own "start at login" toggle writes and reads (WindowsAutostart).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "traycreds"; ValueData: """{app}\traycredsw.exe"" tray"; Flags: uninsdeletevalue; Tasks: startup; Check: KeepStartAtLogin
; Task Manager's switch for that value: if the user once turned traycreds off there, Windows
; skips the Run value at login. Choosing the task means "start it", so the switch goes (with no
; value Windows treats the Run value as on); the uninstaller removes it too.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"; ValueType: none; ValueName: "traycreds"; Flags: deletevalue uninsdeletevalue; Tasks: startup; Check: not IsUpgrade
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NotInPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\traycredsw.exe"; Parameters: "tray"; Description: "Start traycreds now"; Flags: nowait postinstall skipifsilent

[Code]
const
  RunKey = 'Software\Microsoft\Windows\CurrentVersion\Run';
  StartupApprovedKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run';
  EnvironmentKey = 'Environment';
  UninstallKey = 'Software\Microsoft\Windows\CurrentVersion\Uninstall\{6B0F4E2C-7A53-4C1D-9E8B-3F2A1D5C7E90}_is1';

function IsUpgrade: Boolean;
begin
  { An earlier traycreds is installed: its uninstall entry is there. }
  Result := RegKeyExists(HKEY_CURRENT_USER, UninstallKey);
end;

function KeepStartAtLogin: Boolean;
begin
  { A new install: the "start at login" task decides. An upgrade keeps the user's choice
    since then (traycreds' own toggle, or Task Manager): the Run value is rewritten, with the
    new path, only if it is there; a choice of "off" stays off. }
  Result := (not IsUpgrade) or RegValueExists(HKEY_CURRENT_USER, RunKey, 'traycreds');
end;

function PurgeRequested: Boolean;
begin
  { Interactive: ask. Silent (/VERYSILENT or /SILENT): only "/PURGE=yes" removes keys and
    settings, so a silent uninstall never deletes anyone's keys by default. }
  if UninstallSilent then
    Result := CompareText(ExpandConstant('{param:PURGE|no}'), 'yes') = 0
  else
    Result := MsgBox('Also remove your traycreds settings and stored access keys?' + #13#10#13#10 +
      'Yes deletes the keys traycreds stored in Windows Credential Manager, its settings and logs.' + #13#10 +
      'No keeps them for a later installation. Your .aws files are not changed either way.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
end;

function NotInPath(Dir: string): Boolean;
var
  Paths: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, EnvironmentKey, 'Path', Paths) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;

procedure RemoveFromPath(Dir: string);
var
  Paths: string;
  P: Integer;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, EnvironmentKey, 'Path', Paths) then
    exit;
  { P is where ';' + Dir + ';' starts in ';' + Paths + ';', so Dir starts at P in Paths. }
  P := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';');
  if P = 0 then
    exit;
  if P = 1 then
    Delete(Paths, 1, Length(Dir) + 1)
  else
    Delete(Paths, P - 1, Length(Dir) + 1);
  RegWriteExpandStringValue(HKEY_CURRENT_USER, EnvironmentKey, 'Path', Paths);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  ResultCode: Integer;
begin
  if CurUninstallStep = usUninstall then
  begin
    { Before the files go: traycreds.exe is still there to remove the keys from the keyring. }
    if PurgeRequested then
    begin
      if not Exec(ExpandConstant('{app}\traycreds.exe'), 'uninstall-data --yes', '', SW_HIDE,
          ewWaitUntilTerminated, ResultCode) or (ResultCode <> 0) then
        SuppressibleMsgBox('traycreds could not remove all of its data (exit code ' +
          IntToStr(ResultCode) + '). What is left is in %LOCALAPPDATA%\traycreds and in ' +
          'Windows Credential Manager (entries named traycreds).', mbError, MB_OK, IDOK);
    end;
    { Start at login may have been switched on from traycreds itself rather than by the task. }
    RegDeleteValue(HKEY_CURRENT_USER, RunKey, 'traycreds');
    RegDeleteValue(HKEY_CURRENT_USER, StartupApprovedKey, 'traycreds');
  end;
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
