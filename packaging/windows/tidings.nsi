; Tidings' Windows installer, built on Linux with makensis (scripts/package installer).
;
;   makensis -DVERSION=0.1.0 -DEXE=path\to\Tidings.exe -DICON=tidings.ico -DOUTFILE=setup.exe tidings.nsi
;
; Per user by default, without admin rights, into %LOCALAPPDATA%\Programs\Tidings;
; /ALLUSERS (from an elevated prompt) installs for every user into Program Files.
; It makes the Start Menu shortcut carry Tidings' AppUserModelID, which is what lets
; Windows show an unpackaged app's toasts, registers the uninstaller in "Apps &
; features", and optionally starts Tidings at login (the same HKCU Run value the app's
; own "Start at login" writes). /S installs silently.

; Tidings is amd64-only; a 64-bit installer also runs where Wine has no 32-bit part.
Target amd64-unicode
!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include Win\COM.nsh
!include Win\Propkey.nsh

!ifndef VERSION
  !error "define VERSION, EXE, ICON and OUTFILE"
!endif
!ifndef EXE
  !error "define EXE"
!endif
!ifndef ICON
  !error "define ICON"
!endif
!ifndef OUTFILE
  !error "define OUTFILE"
!endif

!define NAME "Tidings"
; The app's ID (account.AppID, FyneApp.toml's ID): the login item's and the
; uninstall entry's name.
!define APPID "io.github.tidings_app.tidings"
; The AppUserModelID the app's toasts go out under: beeep hands go-toast
; notifier.AppName, which go-toast registers under HKCU\Software\Classes\
; AppUserModelId with that name as DisplayName. The shortcut carries the same
; ID, so Windows sees one app.
!define AUMID "Tidings"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPID}"
!define RUNKEY "Software\Microsoft\Windows\CurrentVersion\Run"

Name "${NAME}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${NAME}"
SetCompressor /SOLID lzma
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${NAME}"
VIAddVersionKey "FileDescription" "${NAME} installer"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "The Tidings authors"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\${NAME}.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "SimpChinese"

Var AllUsers

!macro Scope
  ${If} $AllUsers == 1
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
!macroend

Function .onInit
  StrCpy $AllUsers 0
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/ALLUSERS" $1
  ${IfNot} ${Errors}
    UserInfo::GetAccountType
    Pop $1
    ${If} $1 != "Admin"
      MessageBox MB_ICONSTOP "Installing for all users needs an administrator: run the installer from an elevated prompt, or without /ALLUSERS to install for yourself." /SD IDOK
      Abort
    ${EndIf}
    StrCpy $AllUsers 1
    StrCpy $INSTDIR "$PROGRAMFILES64\${NAME}"
  ${EndIf}
  !insertmacro Scope
FunctionEnd

; SetShortcutAUMID LNK: stamps PKEY_AppUserModel_ID on an existing shortcut
; (IShellLink + IPropertyStore + IPersistFile, through NSIS's Win\COM.nsh).
!macro SetShortcutAUMID lnk
  !insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r0 ""
  ${If} $0 P<> 0
    ${IUnknown::QueryInterface} $0 '("${IID_IPersistFile}",.r1)'
    ${If} $1 P<> 0
      ${IPersistFile::Load} $1 '("${lnk}",${STGM_READWRITE})'
      ${IUnknown::QueryInterface} $0 '("${IID_IPropertyStore}",.r2)'
      ${If} $2 P<> 0
        System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID})p.r3'
        System::Call '*(&w${NSIS_MAX_STRLEN} "${AUMID}")p.r4'
        System::Call '*${SYSSTRUCT_PROPVARIANT}(${VT_LPWSTR},,&i8 $4)p.r5'
        ${IPropertyStore::SetValue} $2 '($3,$5).r6'
        ${IPropertyStore::Commit} $2 ".r7"
        DetailPrint "AppUserModelID ${AUMID}: SetValue $6, Commit $7"
        System::Free $3
        System::Free $4
        System::Free $5
        ${IUnknown::Release} $2 ""
      ${EndIf}
      ${IPersistFile::Save} $1 '("${lnk}",1)'
      ${IUnknown::Release} $1 ""
    ${EndIf}
    ${IUnknown::Release} $0 ""
  ${EndIf}
!macroend

Section "${NAME}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "/oname=${NAME}.exe" "${EXE}"
  File "/oname=${NAME}.ico" "${ICON}"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${NAME}.lnk" "$INSTDIR\${NAME}.exe" "" "$INSTDIR\${NAME}.ico" 0 SW_SHOWNORMAL "" "Desktop notifications from your push server"
  !insertmacro SetShortcutAUMID "$SMPROGRAMS\${NAME}.lnk"

  ; "Apps & features": HKCU for a per-user install, HKLM for all users.
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayName" "${NAME}"
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\${NAME}.ico"
  WriteRegStr SHCTX "${UNINSTKEY}" "Publisher" "The Tidings authors"
  WriteRegStr SHCTX "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTKEY}" "UninstallString" '"$INSTDIR\Uninstall.exe" /ALLUSERS=$AllUsers'
  WriteRegStr SHCTX "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S /ALLUSERS=$AllUsers'
  WriteRegDWORD SHCTX "${UNINSTKEY}" "EstimatedSize" $0
  WriteRegDWORD SHCTX "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTKEY}" "NoRepair" 1
SectionEnd

; The installing user's login; the app's own "Start at login" toggles the same value.
Section "Start ${NAME} at login" SecAutostart
  WriteRegStr HKCU "${RUNKEY}" "${APPID}" '"$INSTDIR\${NAME}.exe" --hidden'
SectionEnd

Function un.onInit
  StrCpy $AllUsers 0
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/ALLUSERS=" $1
  ${IfNot} ${Errors}
  ${AndIf} $1 == 1
    StrCpy $AllUsers 1
  ${EndIf}
  !insertmacro Scope
FunctionEnd

Section "Uninstall"
  ; A running Tidings holds its exe open: ask it to quit like the tray's Quit would.
  nsExec::Exec 'taskkill /IM "${NAME}.exe"'
  Delete "$SMPROGRAMS\${NAME}.lnk"
  Delete "$INSTDIR\${NAME}.exe"
  Delete "$INSTDIR\${NAME}.ico"
  Delete "$INSTDIR\Uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegValue HKCU "${RUNKEY}" "${APPID}"
  DeleteRegKey SHCTX "${UNINSTKEY}"
  ; Settings, history and the keyring entry are the user's: they stay.
SectionEnd
